"""The review queue in a real browser (Chromium via Playwright, live uvicorn server): a proof
shows with its text and attachment, a rejection needs a reason, a new proof shows up live in
the activity feed, and accepting pays the reward once."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.conftest import GUILD_ID
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally
from tests.features.tasks.support import ALICE, BOB

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"
TASKS = f"/api/guilds/{GUILD_ID}/tasks"


async def _ok(site: Site, path: str, body: dict[str, object]) -> dict[str, object]:
    response = await site.api.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    result: dict[str, object] = response.json()
    return result


async def test_review_queue_reject_with_reason_live_feed_and_accept(page: Page, site: Site) -> None:
    task = await _ok(site, TASKS, {"name": "Share a screenshot", "reward": 75})
    tid = task["id"]
    await _ok(site, f"{TASKS}/{tid}/claim", {"user_id": ALICE})
    await _ok(site, f"{TASKS}/{tid}/claim", {"user_id": BOB})
    await _ok(
        site,
        f"{TASKS}/{tid}/submit",
        {
            "user_id": ALICE,
            "proof": "Posted in #general",
            "attachments": ["https://example.com/s.png"],
        },
    )

    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/tasks"))
    await expect(page.locator('[data-nav-count="tasks"]')).to_have_text("1")
    await page.click("text=proofs to review >> xpath=.. >> a")
    await page.wait_for_url(site.at(f"{A}/tasks/review"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    proof = page.locator(f'[data-proof="{tid}:{ALICE}"]')
    await expect(proof).to_contain_text("Posted in #general")
    await expect(proof.locator("a", has_text="Attachment 1")).to_have_attribute(
        "href", "https://example.com/s.png"
    )

    # Reject without a reason: refused, nothing changes.
    await proof.locator("button", has_text="Reject").click()
    await expect(page.locator(".flash.error")).to_contain_text("needs a reason")
    proof = page.locator(f'[data-proof="{tid}:{ALICE}"]')
    await proof.locator("input[name=reason]").fill("Please show the whole screen")
    await proof.locator("button", has_text="Reject").click()
    await expect(page.locator(".flash.ok")).to_contain_text("rejected")
    await expect(page.locator(f'[data-proof="{tid}:{ALICE}"]')).to_have_count(0)

    # A proof submitted meanwhile shows in the live feed, and in the queue without a reload.
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await _ok(site, f"{TASKS}/{tid}/submit", {"user_id": BOB, "proof": "Bob's proof"})
    await expect(page.locator("[data-live-feed]")).to_contain_text("task.submitted")
    bob = page.locator(f'[data-proof="{tid}:{BOB}"]')
    await expect(bob).to_contain_text("Bob's proof")
    await expect(page.locator("[data-queue-empty]")).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "tasks-review.png", full_page=True)
    await bob.locator("button", has_text="Accept and pay").click()
    await expect(page.locator(".flash.ok")).to_contain_text("the reward is paid")
    await expect(page.locator("main")).to_contain_text("No proof is waiting for review.")

    await expect(page.locator("[data-queue-empty]")).to_be_visible()

    balance = (await site.api.get(f"/api/guilds/{GUILD_ID}/bytes/balance/{BOB}")).json()
    assert balance["balance"] == 100 + 75
    assert site.console_errors == []


async def test_task_table_and_queue_follow_the_stream(page: Page, site: Site) -> None:
    """Claims, new tasks and reviews made elsewhere (the API, i.e. Discord) show without a
    reload; a reason being typed into another proof's form is kept."""
    task = await _ok(site, TASKS, {"name": "Draw a logo", "reward": 20, "max_claims": 3})
    tid = task["id"]
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/tasks"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    row = page.locator(f'tr[data-task="{tid}"]')
    await expect(row).to_contain_text("0 / 3")
    await _ok(site, f"{TASKS}/{tid}/claim", {"user_id": ALICE})
    await expect(row).to_contain_text("1 / 3")
    await _ok(site, f"{TASKS}/{tid}/submit", {"user_id": ALICE, "proof": "Done"})
    await expect(page.locator("[data-review-count]")).to_have_text("1")
    other = await _ok(site, TASKS, {"name": "Write a poem", "reward": 5})
    await expect(page.locator(f'tr[data-task="{other["id"]}"]')).to_contain_text("Write a poem")

    await _ok(site, f"{TASKS}/{other['id']}/claim", {"user_id": BOB})
    await page.goto(site.at(f"{A}/tasks/review"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    alice = page.locator(f'[data-proof="{tid}:{ALICE}"]')
    await alice.locator("input[name=reason]").fill("Half typed")
    await _ok(site, f"{TASKS}/{other['id']}/submit", {"user_id": BOB, "proof": "A poem"})
    bob = page.locator(f'[data-proof="{other["id"]}:{BOB}"]')
    await expect(bob).to_contain_text("A poem")
    await expect(alice.locator("input[name=reason]")).to_have_value("Half typed")
    # Reviewed elsewhere: the card goes.
    await _ok(
        site,
        f"{TASKS}/{other['id']}/review",
        {"user_id": BOB, "accept": True, "reviewer_id": ALICE},
    )
    await expect(bob).to_have_count(0)
    await expect(alice).to_have_count(1)
    assert site.console_errors == []
