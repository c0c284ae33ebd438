"""Big transfers wait for the sender's Confirm; the "Send bytes" context menu opens a modal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from guildbank.bot import menus
from guildbank.runtime.bot import GuildbankBot
from tests.bot.world import WAIT, BotWorld, content_of, embed_of, is_ephemeral
from tests.factories import guild_money
from tests.fakes.discord import FakeInteraction, FakeMember, FakeUser
from tests.fakes.discord_rest import RecordedCall

TRANSFERS = r"/api/guilds/\d+/bytes/transactions"


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


async def _answer(world: BotWorld, *interactions: FakeInteraction) -> RecordedCall:
    """The first initial response the bot gave to any of ``interactions``."""
    ids = "|".join(str(i.id) for i in interactions)
    return await world.discord.wait_for_call(
        "POST", rf"/interactions/({ids})/[^/]+/callback", timeout=WAIT
    )


async def _ask(world: BotWorld, amount: int, reason: str | None = None) -> FakeInteraction:
    options: dict[str, Any] = {"user": world.bob.id, "amount": amount}
    if reason:
        options["reason"] = reason
    asked, prompt = await world.command(world.alice, "bytes send", options)
    assert is_ephemeral(prompt)
    assert [b["label"] for b in _buttons(world.discord.response_message(asked))] == [
        "Confirm",
        "Cancel",
    ]
    return asked


async def test_confirm_sends_once_even_when_clicked_twice_and_only_by_the_sender(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.fund(world.alice, 500)
    asked = await _ask(world, 150, "rent")
    prompt = world.discord.response_message(asked)
    assert prompt["content"] == f"Send 💰 **150** bytes to <@{world.bob.id}>?\nReason: rent"
    message_id = int(prompt["id"])

    intruder = await world.discord.button_click(message_id, label="Confirm", user_id=world.bob.id)
    refusal = await world.discord.wait_for_response(intruder, timeout=WAIT)
    assert (content_of(refusal), is_ephemeral(refusal)) == (
        "Only the sender can confirm this transfer.",
        True,
    )
    assert not world.recorder.matching("POST", TRANSFERS)

    # Two presses in flight at once (a double click), then the same press redelivered.
    clicks = await asyncio.gather(
        world.discord.button_click(message_id, label="Confirm", user_id=world.alice.id, repeat=2),
        world.discord.button_click(message_id, label="Confirm", user_id=world.alice.id),
    )
    done = await _answer(world, *clicks)
    assert done.json["type"] == 7  # the prompt is edited in place
    assert embed_of(done)["title"] == "Sent!"
    assert done.json["data"]["components"] == []
    await world.stop_bot(running)  # let every in-flight handler finish or be cancelled

    assert len(world.recorder.matching("POST", TRANSFERS)) == 1
    transfers = await world.api.transactions(world.gid, type="transfer")
    assert [(t.amount, t.reason) for t in transfers] == [(150, "rent")]
    assert (await world.balance(world.alice)).balance == 350
    assert (await world.balance(world.bob)).balance == 250


async def test_cancel_sends_nothing(world: BotWorld, running: GuildbankBot) -> None:
    before = await guild_money(world.services, world.gid)
    asked = await _ask(world, 100)
    message_id = int(world.discord.response_message(asked)["id"])

    press = await world.discord.button_click(message_id, label="Cancel", user_id=world.alice.id)
    answer = await world.discord.wait_for_response(press, timeout=WAIT)

    assert answer.json["type"] == 7
    assert world.discord.response_message(asked)["content"] == "Cancelled: nothing was sent."
    assert world.discord.response_message(asked)["components"] == []
    assert not world.recorder.matching("POST", TRANSFERS)
    assert await guild_money(world.services, world.gid) == before


async def test_timeout_disables_the_buttons_and_says_so(
    world: BotWorld, running: GuildbankBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(menus, "MENU_TIMEOUT_SECONDS", 0.3)
    before = await guild_money(world.services, world.gid)
    asked = await _ask(world, 100)

    app = world.discord.application_id
    await world.discord.wait_for_call(
        "PATCH", rf"/webhooks/{app}/{asked.token}/messages/.+", timeout=WAIT
    )
    message = world.discord.response_message(asked)
    assert message["content"] == "Timed out: nothing was sent."
    buttons = _buttons(message)
    assert [b["label"] for b in buttons] == ["Confirm", "Cancel"]
    assert all(b["disabled"] for b in buttons)
    with pytest.raises(ValueError, match="disabled"):
        await world.discord.button_click(
            int(message["id"]), label="Confirm", user_id=world.alice.id
        )
    assert not world.recorder.matching("POST", TRANSFERS)
    assert await guild_money(world.services, world.gid) == before


async def test_a_refused_confirmed_transfer_is_explained_on_the_prompt(
    world: BotWorld, running: GuildbankBot
) -> None:
    asked = await _ask(world, 150)  # alice has the starting 100
    message_id = int(world.discord.response_message(asked)["id"])
    press = await world.discord.button_click(message_id, label="Confirm", user_id=world.alice.id)
    answer = await world.discord.wait_for_response(press, timeout=WAIT)

    assert answer.json["type"] == 7
    prompt = world.discord.response_message(asked)
    assert prompt["content"] == "You have 100 bytes; you tried to send 150 (insufficient balance)."
    assert prompt["components"] == []
    assert (await world.balance(world.alice)).balance == 100


def _modal_inputs(call: RecordedCall) -> dict[str, str]:
    """Label → custom_id of the text inputs of a modal response."""
    return {
        c["label"]: c["custom_id"]
        for row in call.json["data"]["components"]
        for c in row["components"]
    }


async def _open_modal(world: BotWorld, target: int) -> tuple[FakeInteraction, dict[str, str]]:
    opened = await world.discord.user_context_menu(
        world.guild.id, world.alice.id, "Send bytes", target
    )
    modal = await world.discord.wait_for_response(opened, timeout=WAIT)
    assert modal.json["type"] == 9
    return opened, _modal_inputs(modal)


async def test_context_menu_opens_a_modal_whose_submission_sends(
    world: BotWorld, running: GuildbankBot
) -> None:
    opened = await world.discord.user_context_menu(
        world.guild.id, world.alice.id, "Send bytes", world.bob.id
    )
    modal = await world.discord.wait_for_response(opened, timeout=WAIT)
    assert modal.json["type"] == 9
    assert modal.json["data"]["title"] == "Send bytes to bob"
    inputs = _modal_inputs(modal)
    assert list(inputs) == ["Amount", "Reason (optional)"]

    submitted = await world.discord.modal_submit(
        opened, {inputs["Amount"]: "1,5", inputs["Reason (optional)"]: "  thanks "}
    )
    sent = await world.discord.wait_for_response(submitted, timeout=WAIT)
    embed = embed_of(sent)
    assert embed["description"] == f"<@{world.alice.id}> sent 💰 **15** bytes to <@{world.bob.id}>."
    assert (await world.balance(world.bob)).balance == 115
    transfers = await world.api.transactions(world.gid, type="transfer")
    assert [(t.amount, t.reason) for t in transfers] == [(15, "thanks")]


# Full-width digits are digits to Python's int(), not to the API: refused like them.
@pytest.mark.parametrize("amount", ["abc", "0", "-5", "2.5", "\uff11\uff12"])
async def test_modal_refuses_an_amount_that_is_not_a_whole_number(
    world: BotWorld, running: GuildbankBot, amount: str
) -> None:
    before = await guild_money(world.services, world.gid)
    opened, inputs = await _open_modal(world, world.bob.id)
    submitted = await world.discord.modal_submit(opened, {inputs["Amount"]: amount})
    answer = await world.discord.wait_for_response(submitted, timeout=WAIT)
    assert (content_of(answer), is_ephemeral(answer)) == (
        f"{amount!r} is not a whole number of at least 1.",
        True,
    )
    assert await guild_money(world.services, world.gid) == before


async def test_a_reason_typed_over_several_lines_is_sent_as_one(
    world: BotWorld, running: GuildbankBot
) -> None:
    """Reasons are one line (the API refuses control characters); the paragraph box is not."""
    opened, inputs = await _open_modal(world, world.bob.id)
    submitted = await world.discord.modal_submit(
        opened, {inputs["Amount"]: "5", inputs["Reason (optional)"]: "for the\nraid\tloot"}
    )
    await world.discord.wait_for_response(submitted, timeout=WAIT)
    transfers = await world.api.transactions(world.gid, type="transfer")
    assert [(t.amount, t.reason) for t in transfers] == [(5, "for the raid loot")]


async def test_modal_big_amount_goes_through_the_confirmation(
    world: BotWorld, running: GuildbankBot
) -> None:
    await world.fund(world.alice, 300)
    opened, inputs = await _open_modal(world, world.bob.id)
    submitted = await world.discord.modal_submit(opened, {inputs["Amount"]: "200"})
    prompt_call = await world.discord.wait_for_response(submitted, timeout=WAIT)
    assert content_of(prompt_call) == f"Send 💰 **200** bytes to <@{world.bob.id}>?"
    assert is_ephemeral(prompt_call)
    assert not world.recorder.matching("POST", TRANSFERS)

    prompt = world.discord.response_message(submitted)
    press = await world.discord.button_click(
        int(prompt["id"]), label="Confirm", user_id=world.alice.id
    )
    done = await world.discord.wait_for_response(press, timeout=WAIT)
    assert embed_of(done)["title"] == "Sent!"
    assert (await world.balance(world.bob)).balance == 300


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("robot", "Bots can't hold bytes; pick a member instead."),
        ("outsider", "outsider is not a member of this server."),
        ("bob", "You have 50 bytes; you tried to send 99 (insufficient balance)."),
    ],
)
async def test_modal_refusals_are_answered_and_move_nothing(
    world: BotWorld, running: GuildbankBot, target: str, expected: str
) -> None:
    await world.fund(world.alice, 50)
    await world.fund(world.bob, 0)  # bob's account exists, so the refusal has nothing to open
    before = await guild_money(world.services, world.gid)
    users: dict[str, FakeMember | FakeUser] = {
        "robot": world.robot,
        "outsider": world.outsider,
        "bob": world.bob,
    }
    user = users[target]
    opened, inputs = await _open_modal(world, user.id)
    submitted = await world.discord.modal_submit(opened, {inputs["Amount"]: "99"})
    answer = await world.discord.wait_for_response(submitted, timeout=WAIT)
    assert (content_of(answer), is_ephemeral(answer)) == (expected, True)
    assert await guild_money(world.services, world.gid) == before
