"""``/tasks`` and ``/task`` end to end: the real bot (hikari + lightbulb) against the fake
Discord, talking to the real API in-process; assertions on what Discord sees and what the
database holds. SQLite only: the bot does not depend on the backend (services and API tests
cover both).
"""

from __future__ import annotations

from typing import Any

import pytest

from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks.expiry import expire_due
from guildbank.features.tasks.schemas import TaskOut
from guildbank.platform.uow import unit_of_work
from tests.bot.world import WAIT, BotWorld, content_of, is_ephemeral
from tests.fakes.discord import FakeInteraction, FakeMember
from tests.features.tasks.support import rewards
from tests.outbox.helpers import all_settled, wait_for_jobs


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def world(world: BotWorld) -> BotWorld:
    """The bot world with the review channel set to the guild's text channel, bot running."""
    channel = world.discord.default_channel(world.guild.id)
    await world.api.update_task_settings(world.gid, {"review_channel_id": str(channel.id)})
    await world.start_bot()
    return world


async def make_task(world: BotWorld, name: str = "Welcome", **fields: Any) -> TaskOut:
    fields.setdefault("reward", 100)
    async with unit_of_work(world.services) as uow:
        task = await task_admin.create_task(uow, guild_id=world.gid, name=name, **fields)
        await uow.commit()
    return task


async def run(
    world: BotWorld, who: FakeMember, name: str, options: dict[str, Any] | None = None
) -> tuple[FakeInteraction, dict[str, Any]]:
    interaction, call = await world.command(who, name, options)
    return interaction, call.json


async def press(world: BotWorld, message_id: int, who: FakeMember, **find: Any) -> Any:
    pressed = await world.discord.button_click(message_id, user_id=who.user.id, **find)
    return pressed, (await world.discord.wait_for_response(pressed, timeout=WAIT)).json


async def claim_and_submit(world: BotWorld, who: FakeMember, task: TaskOut) -> None:
    await run(world, who, "task claim", {"task": str(task.id)})
    _, answer = await run(
        world,
        who,
        "task submit",
        {"task": str(task.id), "proof": "All done", "link": "https://img.example/p.png"},
    )
    assert "submitted" in answer["data"]["content"], answer


async def test_tasks_page_claim_button_and_a_double_click(world: BotWorld) -> None:
    task = await make_task(world, "Welcome newcomers", reward=150, max_claims=3)
    asked, answer = await run(world, world.alice, "tasks")
    embed = answer["data"]["embeds"][0]
    assert embed["title"] == "Open tasks"
    assert embed["fields"][0]["name"] == f"#{task.id} Welcome newcomers"
    message = world.discord.response_message(asked)
    _, first = await press(world, int(message["id"]), world.alice, label=f"Claim #{task.id}")
    assert first["data"]["embeds"][0]["title"] == "You claimed Welcome newcomers"
    assert first["data"]["flags"] & 64
    _, second = await press(world, int(message["id"]), world.alice, label=f"Claim #{task.id}")
    assert second["data"]["content"] == "You already claimed Welcome newcomers."
    claims = await world.api.member_tasks(world.gid, str(world.alice.user.id))
    assert [(c.task_id, c.status) for c in claims] == [(task.id, "in_progress")]
    assert (await world.api.task(world.gid, task.id)).current_claims == 1


async def test_tasks_pages_with_next_and_previous(world: BotWorld) -> None:
    for n in range(7):
        await make_task(world, f"Task {n}")
    asked, answer = await run(world, world.alice, "tasks")
    assert len(answer["data"]["embeds"][0]["fields"]) == 5
    message = world.discord.response_message(asked)
    _, turned = await press(world, int(message["id"]), world.alice, label="Next")
    assert turned["type"] == 7  # the message is updated in place
    assert len(turned["data"]["embeds"][0]["fields"]) == 2
    assert turned["data"]["embeds"][0]["footer"]["text"] == "Page 2"


async def test_submit_posts_the_proof_and_accept_pays_once(world: BotWorld) -> None:
    task = await make_task(world, "Write a guide", reward=250)
    await claim_and_submit(world, world.alice, task)
    channel = world.discord.default_channel(world.guild.id)
    await wait_for_jobs(world.services, lambda jobs: bool(jobs) and all_settled(jobs))
    posts = [m for m in world.discord.channel_messages(channel.id) if m.get("embeds")]
    proof = next(m for m in posts if m["embeds"][0]["title"] == "Proof: Write a guide")
    assert "All done" in proof["embeds"][0]["description"]

    asked, answer = await run(
        world, world.admin, "task review", {"task": str(task.id), "member": world.alice.user.id}
    )
    assert answer["data"]["embeds"][0]["title"] == "Proof: Write a guide"
    review = world.discord.response_message(asked)
    # Two moderators' clicks (or one moderator's double click): one reward.
    asked_again, _ = await run(
        world, world.admin, "task review", {"task": str(task.id), "member": world.alice.user.id}
    )
    other = world.discord.response_message(asked_again)
    _, accepted = await press(world, int(review["id"]), world.admin, label="Accept")
    assert accepted["type"] == 7
    assert "Accepted" in accepted["data"]["content"]
    buttons = [c for row in accepted["data"]["components"] for c in row["components"]]
    assert all(b["disabled"] for b in buttons)
    _, late = await press(world, int(other["id"]), world.admin, label="Accept")
    assert "not awaiting review" in late["data"]["content"]
    assert await rewards(world.services, world.gid) == 1
    assert (await world.balance(world.alice)).balance == 100 + 250


async def test_reject_asks_a_reason_in_a_modal_then_resubmit_and_accept(world: BotWorld) -> None:
    task = await make_task(world, "Screenshot", reward=40)
    await claim_and_submit(world, world.alice, task)
    asked, _ = await run(
        world, world.admin, "task review", {"task": str(task.id), "member": world.alice.user.id}
    )
    review = world.discord.response_message(asked)
    pressed, opened = await press(world, int(review["id"]), world.admin, label="Reject")
    assert opened["type"] == 9
    submitted = await world.discord.modal_submit(pressed, {"reason": "Too blurry"})
    answer = await world.discord.wait_for_response(submitted, timeout=WAIT)
    assert "Too blurry" in content_of(answer)
    assert is_ephemeral(answer)
    [claim] = await world.api.member_tasks(world.gid, str(world.alice.user.id))
    assert (claim.status, claim.rejection_reason) == ("rejected", "Too blurry")

    _, mine = await run(world, world.alice, "task mine")
    assert "Too blurry" in mine["data"]["embeds"][0]["fields"][0]["value"]
    _, again = await run(
        world, world.alice, "task submit", {"task": str(task.id), "proof": "Sharper now"}
    )
    assert "submitted" in again["data"]["content"]
    asked, _ = await run(
        world, world.admin, "task review", {"task": str(task.id), "member": world.alice.user.id}
    )
    await press(
        world, int(world.discord.response_message(asked)["id"]), world.admin, label="Accept"
    )
    assert await rewards(world.services, world.gid) == 1


async def test_members_cannot_review_and_nobody_reviews_their_own_proof(
    world: BotWorld,
) -> None:
    task = await make_task(world)
    await claim_and_submit(world, world.alice, task)
    denied = await world.discord.slash_command(
        world.guild.id,
        world.bob.user.id,
        "task review",
        {"task": str(task.id), "member": world.alice.user.id},
    )
    refusal = await world.discord.wait_for_response(denied, timeout=WAIT)
    assert is_ephemeral(refusal)
    await claim_and_submit(world, world.admin, task)
    asked, _ = await run(
        world, world.admin, "task review", {"task": str(task.id), "member": world.admin.user.id}
    )
    _, own = await press(
        world, int(world.discord.response_message(asked)["id"]), world.admin, label="Accept"
    )
    assert own["data"]["content"] == "You cannot review your own proof."
    assert await rewards(world.services, world.gid) == 0


async def test_create_with_the_modal_and_abandon(world: BotWorld) -> None:
    _refused, answer = await run(world, world.alice, "task create")
    assert answer["data"]["content"] == "Only moderators can create tasks here."
    opened, modal = await run(world, world.admin, "task create")
    assert modal["type"] == 9
    inputs = {
        c["label"]: c["custom_id"] for row in modal["data"]["components"] for c in row["components"]
    }
    submitted = await world.discord.modal_submit(
        opened,
        {
            inputs["Name"]: "Invite a friend",
            inputs["Reward"]: "60",
            inputs["Places (empty: unlimited)"]: "2",
        },
    )
    done = await world.discord.wait_for_response(submitted, timeout=WAIT)
    assert "Invite a friend" in content_of(done)
    [task] = await world.api.tasks(world.gid)
    assert (task.name, task.reward, task.max_claims, task.created_by) == (
        "Invite a friend",
        60,
        2,
        str(world.admin.user.id),
    )
    _, claimed = await run(world, world.bob, "task claim", {"task": f"#{task.id}"})
    assert claimed["data"]["embeds"][0]["title"] == "You claimed Invite a friend"
    _, left = await run(world, world.bob, "task abandon", {"task": str(task.id)})
    assert left["data"]["content"] == "You gave up **Invite a friend**."
    assert (await world.api.task(world.gid, task.id)).current_claims == 0


async def test_tasks_off_answers_disabled(world: BotWorld) -> None:
    await world.configure(features={"tasks": False})
    _, answer = await run(world, world.alice, "tasks")
    assert "disabled" in answer["data"]["content"]


ATTACHMENT_ID = "990000000000000001"
ATTACHMENT_URL = "https://cdn.discordapp.com/attachments/1/2/proof.png"


@pytest.fixture
def with_attachments(world: BotWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slash commands carry Discord's ``resolved.attachments`` for an uploaded file (the
    shared fake resolves users, roles and channels only)."""
    builder = world.discord.interaction_builder
    original = builder.command

    def command(*args: Any, **kwargs: Any) -> FakeInteraction:
        interaction = original(*args, **kwargs)
        data = interaction.payload["data"]
        data.setdefault("resolved", {})["attachments"] = {
            ATTACHMENT_ID: {
                "id": ATTACHMENT_ID,
                "filename": "proof.png",
                "size": 1234,
                "url": ATTACHMENT_URL,
                "proxy_url": ATTACHMENT_URL,
                "content_type": "image/png",
            }
        }
        return interaction

    monkeypatch.setattr(builder, "command", command)


@pytest.mark.usefixtures("with_attachments")
async def test_submit_with_an_uploaded_attachment_posts_it_for_review(world: BotWorld) -> None:
    task = await make_task(world, "Screenshot")
    await run(world, world.alice, "task claim", {"task": str(task.id)})
    _, answer = await run(
        world, world.alice, "task submit", {"task": str(task.id), "attachment": ATTACHMENT_ID}
    )
    assert "submitted" in answer["data"]["content"]
    [claim] = await world.api.member_tasks(world.gid, str(world.alice.user.id))
    assert (claim.status, claim.proof_text, claim.proof_urls) == (
        "submitted",
        None,
        [ATTACHMENT_URL],
    )
    channel = world.discord.default_channel(world.guild.id)
    await wait_for_jobs(world.services, lambda jobs: bool(jobs) and all_settled(jobs))
    [proof] = [
        m
        for m in world.discord.channel_messages(channel.id)
        if m.get("embeds") and m["embeds"][0]["title"] == "Proof: Screenshot"
    ]
    assert proof["embeds"][0]["image"]["url"] == ATTACHMENT_URL


async def test_expiry_edits_the_task_post_in_discord(world: BotWorld) -> None:
    channel = world.discord.default_channel(world.guild.id)
    task = await make_task(world, "Quick one", duration_hours=1, channel_id=str(channel.id))
    await wait_for_jobs(world.services, lambda jobs: bool(jobs) and all_settled(jobs))
    [post] = [m for m in world.discord.channel_messages(channel.id) if m.get("embeds")]
    assert post["embeds"][0]["title"] == "Quick one"
    shown = await world.api.task(world.gid, task.id)
    assert (shown.sync_status, shown.message_id) == ("synced", post["id"])
    world.clock.advance(hours=2)
    async with unit_of_work(world.services) as uow:
        report = await expire_due(uow)
        await uow.commit()
    assert report.tasks == [task.id]
    await wait_for_jobs(
        world.services,
        lambda jobs: (
            all_settled(jobs)
            and jobs[-1].payload.get("embeds", [{}])[0].get("title", "").startswith("[Expired]")
        ),
    )
    edited = world.discord.messages[int(post["id"])]
    assert edited["embeds"][0]["title"] == "[Expired] Quick one"
    assert edited["content"] == "This task is closed."
    assert edited["components"] == []  # no Claim button on a closed task


async def test_review_autocomplete_offers_tasks_with_waiting_proofs(world: BotWorld) -> None:
    waiting = await make_task(world, "Waiting one")
    await make_task(world, "Nobody submitted")
    await claim_and_submit(world, world.alice, waiting)
    await claim_and_submit(world, world.bob, waiting)
    typing = await world.discord.autocomplete(
        world.guild.id, world.admin.user.id, "task review", {"task": ""}, focused="task"
    )
    choices = (await world.discord.wait_for_response(typing, timeout=WAIT)).json["data"]["choices"]
    assert [(c["name"], c["value"]) for c in choices] == [
        (f"#{waiting.id} Waiting one — 2 waiting", str(waiting.id))
    ]


# -- the buttons of the outbox's posts, and the member's DMs ---------------------------------


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("components", []) for b in row["components"]]


async def settled(world: BotWorld) -> None:
    await wait_for_jobs(world.services, lambda jobs: bool(jobs) and all_settled(jobs))


async def proof_post(world: BotWorld, task: TaskOut) -> dict[str, Any]:
    await settled(world)
    channel = world.discord.default_channel(world.guild.id)
    return next(
        m
        for m in world.discord.channel_messages(channel.id)
        if m.get("embeds") and m["embeds"][0]["title"] == f"Proof: {task.name}"
    )


async def test_the_task_posts_claim_button_claims_and_greys_out_when_full(world: BotWorld) -> None:
    channel = world.discord.default_channel(world.guild.id)
    task = await make_task(world, "Greet", max_claims=1, channel_id=str(channel.id))
    await settled(world)
    [post] = [m for m in world.discord.channel_messages(channel.id) if m.get("embeds")]
    [claim_button] = buttons(post)
    assert (claim_button["custom_id"], claim_button["label"]) == (
        f"gbtask:claim:{task.id}",
        "Claim",
    )
    assert not claim_button.get("disabled")

    _, claimed = await press(world, int(post["id"]), world.alice, label="Claim")
    assert claimed["data"]["embeds"][0]["title"] == "You claimed Greet"
    assert claimed["data"]["flags"] & 64
    claims = await world.api.member_tasks(world.gid, str(world.alice.user.id))
    assert [(c.task_id, c.status) for c in claims] == [(task.id, "in_progress")]
    await wait_for_jobs(
        world.services,
        lambda jobs: (
            all_settled(jobs)
            and bool(jobs[-1].payload["components"][0]["components"][0]["disabled"])
        ),
    )
    full = world.discord.messages[int(post["id"])]
    assert {f["name"]: f["value"] for f in full["embeds"][0]["fields"]}["Claims"] == "1/1"
    assert buttons(full)[0]["disabled"] is True  # every place is taken
    with pytest.raises(ValueError, match="disabled"):
        await world.discord.button_click(int(post["id"]), label="Claim", user_id=world.bob.user.id)


async def test_accept_on_the_proof_post_pays_once_and_dms_the_member(world: BotWorld) -> None:
    task = await make_task(world, "Write a guide", reward=250)
    await claim_and_submit(world, world.alice, task)
    post = await proof_post(world, task)
    assert [(b["label"], b["custom_id"]) for b in buttons(post)] == [
        ("Accept", f"gbtask:accept:{task.id}:{world.alice.user.id}"),
        ("Reject", f"gbtask:reject:{task.id}:{world.alice.user.id}"),
    ]
    _, refused = await press(world, int(post["id"]), world.bob, label="Accept")
    assert refused["data"]["content"] == "Only moderators can review proofs."
    assert await rewards(world.services, world.gid) == 0

    _, accepted = await press(world, int(post["id"]), world.admin, label="Accept")
    assert accepted["type"] == 7  # the post itself shows the outcome
    assert "Accepted" in accepted["data"]["content"]
    await settled(world)
    assert await rewards(world.services, world.gid) == 1
    assert (await world.balance(world.alice)).balance == 100 + 250
    [dm] = world.discord.dm_messages(world.alice.user.id)
    assert "**Write a guide**" in dm["content"]
    assert "was accepted. You earned 250" in dm["content"]
    reviewed = world.discord.messages[int(post["id"])]
    assert all(b.get("disabled") for b in buttons(reviewed))  # nothing left to press
    assert world.discord.dm_messages(world.bob.user.id) == []


async def test_reject_on_the_proof_post_dms_the_reason_and_a_resubmission_brings_the_buttons_back(
    world: BotWorld,
) -> None:
    task = await make_task(world, "Screenshot", reward=40)
    await claim_and_submit(world, world.alice, task)
    post = await proof_post(world, task)
    pressed, opened = await press(world, int(post["id"]), world.admin, label="Reject")
    assert opened["type"] == 9  # the reason's modal
    submitted = await world.discord.modal_submit(pressed, {"reason": "Too blurry"})
    await world.discord.wait_for_response(submitted, timeout=WAIT)
    await settled(world)
    [dm] = world.discord.dm_messages(world.alice.user.id)
    assert "was rejected: Too blurry" in dm["content"]
    assert f"/task submit task:{task.id}" in dm["content"]
    assert buttons(world.discord.messages[int(post["id"])]) == []
    assert "Rejected" in world.discord.messages[int(post["id"])]["embeds"][0]["fields"][0]["value"]

    _, again = await run(
        world, world.alice, "task submit", {"task": str(task.id), "proof": "Sharper now"}
    )
    assert "submitted" in again["data"]["content"]
    await settled(world)
    waiting = world.discord.messages[int(post["id"])]  # the same post, waiting again
    assert [b["label"] for b in buttons(waiting)] == ["Accept", "Reject"]
    await press(world, int(post["id"]), world.admin, label="Accept")
    await settled(world)
    assert await rewards(world.services, world.gid) == 1
    dms = world.discord.dm_messages(world.alice.user.id)
    assert ["rejected" in m["content"] for m in dms] == [True, False]
    assert "was accepted" in dms[1]["content"]


async def test_a_member_with_closed_dms_is_still_paid_and_the_dm_is_skipped(
    world: BotWorld,
) -> None:
    world.alice.user.accepts_dms = False
    task = await make_task(world, "Quiet one", reward=10)
    await claim_and_submit(world, world.alice, task)
    post = await proof_post(world, task)
    await press(world, int(post["id"]), world.admin, label="Accept")
    jobs = await wait_for_jobs(
        world.services, lambda jobs: all_settled(jobs) and any(j.kind == "dm.send" for j in jobs)
    )
    [dm] = [j for j in jobs if j.kind == "dm.send"]
    assert dm.status == "done"
    assert dm.result is not None
    assert "DMs are closed" in dm.result["skipped"]
    assert world.discord.dm_messages(world.alice.user.id) == []
    assert await rewards(world.services, world.gid) == 1
