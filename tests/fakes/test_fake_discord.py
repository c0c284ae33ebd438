"""The fake Discord speaks well enough for the real hikari GatewayBot and lightbulb client."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from typing import TypeVar

import hikari
import httpx
import lightbulb
import pytest

from tests.fakes.discord import FakeDiscord, make_bot, running_bot

EventT = TypeVar("EventT", bound=hikari.Event)
T = TypeVar("T")
INTENTS = (
    hikari.Intents.ALL_UNPRIVILEGED | hikari.Intents.GUILD_MEMBERS | hikari.Intents.MESSAGE_CONTENT
)


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not leaked, f"tasks outlived the test: {leaked}"


def _queue_events(bot: hikari.GatewayBot, event_type: type[EventT]) -> asyncio.Queue[EventT]:
    queue: asyncio.Queue[EventT] = asyncio.Queue()

    async def put(event: EventT) -> None:
        queue.put_nowait(event)

    bot.subscribe(event_type, put)
    return queue


async def _next(queue: asyncio.Queue[T]) -> T:
    async with asyncio.timeout(5):
        return await queue.get()


async def test_bot_connects_and_caches_guilds_with_members(discord: FakeDiscord) -> None:
    guild = discord.add_guild(name="Bytes Guild")
    alice = discord.add_member(guild.id, username="alice")
    bot = make_bot(discord, intents=INTENTS)

    async with running_bot(bot, discord):
        cached = bot.cache.get_guild(guild.id)
        assert cached is not None
        assert cached.name == "Bytes Guild"
        member = bot.cache.get_member(guild.id, alice.id)
        assert member is not None
        assert member.username == "alice"
        me = bot.get_me()
        assert me is not None
        assert me.id == discord.bot_user.id

    (identify,) = discord.identify_payloads()
    assert identify["shard"] == [0, 1]
    assert identify["intents"] == int(INTENTS)
    assert all(conn.compress for conn in discord.gateway.connections)
    assert discord.calls("GET", "/gateway/bot")


async def test_message_create_reaches_listener_and_content_needs_the_intent(
    discord: FakeDiscord,
) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice")
    hook = discord.add_user(username="hook", bot=True)
    bot = make_bot(discord, intents=hikari.Intents.ALL_UNPRIVILEGED)
    messages = _queue_events(bot, hikari.GuildMessageCreateEvent)

    async with running_bot(bot, discord):
        await discord.send_message(guild.id, None, alice.id, "hello")
        event = await _next(messages)
        assert (event.author_id, event.guild_id) == (alice.id, guild.id)
        assert event.member is not None
        assert event.content is None  # no MESSAGE_CONTENT intent: Discord blanks it

        await discord.send_message(guild.id, None, alice.id, f"hi <@{discord.bot_user.id}>")
        assert (await _next(messages)).content == f"hi <@{discord.bot_user.id}>"

        await discord.send_message(guild.id, None, hook.id, "from a webhook", webhook_id=hook.id)
        webhook_event = await _next(messages)
        assert webhook_event.message.webhook_id == hook.id
        assert webhook_event.member is None


class Ping(lightbulb.SlashCommand, name="ping", description="Replies with pong"):
    amount = lightbulb.integer("amount", "How many", min_value=1)
    user = lightbulb.user("user", "Who to ping")

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context) -> None:
        await ctx.respond(f"pong {self.amount} {self.user.username}")


async def test_guild_command_is_synced_and_answers_an_interaction(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice")
    bob = discord.add_member(guild.id, username="bob")
    bot = make_bot(discord)
    client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
    client.register(Ping)

    async with running_bot(bot, discord, client=client):
        path = rf"/applications/{discord.application_id}/guilds/{guild.id}/commands"
        listed = await discord.wait_for_call("GET", path)
        assert listed.query == {"with_localizations": "true"}
        synced = await discord.wait_for_call("PUT", path)
        assert [c["name"] for c in synced.json] == ["ping"]
        assert {o["name"] for o in synced.json[0]["options"]} == {"amount", "user"}

        interaction = await discord.slash_command(
            guild.id, alice.id, "ping", {"amount": 3, "user": bob.id}
        )
        response = await discord.wait_for_response(interaction)

    assert response.query == {"with_response": "true"}
    assert response.json["type"] == 4
    assert response.json["data"]["content"] == "pong 3 bob"
    assert discord.response_message(interaction)["content"] == "pong 3 bob"
    with pytest.raises(ValueError, match="min_value"):
        await discord.slash_command(guild.id, alice.id, "ping", {"amount": 0, "user": bob.id})


class Confirm(lightbulb.SlashCommand, name="confirm", description="Asks for confirmation"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, client: lightbulb.Client) -> None:
        menu = lightbulb.components.Menu()

        async def on_yes(menu_ctx: lightbulb.components.MenuContext) -> None:
            await menu_ctx.respond(
                f"confirmed by {menu_ctx.user.username}", edit=True, components=[]
            )
            menu_ctx.stop_interacting()

        menu.add_interactive_button(hikari.ButtonStyle.SUCCESS, on_yes, label="Yes")
        await ctx.respond("Sure?", components=menu)
        await menu.attach(client, timeout=5)


async def test_button_press_round_trips_through_a_lightbulb_menu(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice")
    bot = make_bot(discord)
    client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
    client.register(Confirm)

    async with running_bot(bot, discord, client=client):
        asked = await discord.slash_command(guild.id, alice.id, "confirm")
        await discord.wait_for_response(asked)
        prompt = discord.response_message(asked)
        assert prompt["components"][0]["components"][0]["label"] == "Yes"

        press = await discord.button_click(int(prompt["id"]), label="Yes", user_id=alice.id)
        answer = await discord.wait_for_response(press)

    assert answer.json["type"] == 7  # UPDATE_MESSAGE edits the prompt in place
    assert discord.response_message(asked)["content"] == "confirmed by alice"
    assert discord.response_message(asked)["components"] == []


class Nickname(lightbulb.UserCommand, name="Set nickname"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, client: lightbulb.Client) -> None:
        modal = NicknameModal(self.target.username)
        await ctx.respond_with_modal("Nickname", "nick-modal", components=modal)
        await modal.attach(client, "nick-modal", timeout=5)


class NicknameModal(lightbulb.components.Modal):
    def __init__(self, target: str) -> None:
        self.target = target
        self.nick = self.add_short_text_input("Nickname", custom_id="nick")

    async def on_submit(self, ctx: lightbulb.components.ModalContext) -> None:
        await ctx.respond(f"{self.target} is now {ctx.value_for(self.nick)}", ephemeral=True)


async def fruit_choices(ctx: lightbulb.AutocompleteContext[str]) -> None:
    typed = str(ctx.focused.value)
    await ctx.respond([f for f in ("apple", "apricot", "banana") if f.startswith(typed)])


class Fruit(lightbulb.SlashCommand, name="fruit", description="Pick a fruit"):
    name = lightbulb.string("name", "The fruit", autocomplete=fruit_choices)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context) -> None:
        await ctx.respond(self.name)


async def test_context_menu_modal_and_autocomplete_on_global_commands(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice")
    bob = discord.add_member(guild.id, username="bob")
    bot = make_bot(discord)
    client = lightbulb.client_from_app(bot)
    client.register(Nickname)
    client.register(Fruit)

    async with running_bot(bot, discord, client=client):
        opened = await discord.user_context_menu(guild.id, alice.id, "Set nickname", bob.id)
        assert "guild_id" not in opened.payload["data"]  # global command
        modal = await discord.wait_for_response(opened)
        assert modal.json["type"] == 9
        submitted = await discord.modal_submit(opened, {"nick": "bobby"})
        reply = await discord.wait_for_response(submitted)
        assert reply.json["data"]["content"] == "bob is now bobby"
        assert reply.json["data"]["flags"] == int(hikari.MessageFlag.EPHEMERAL)

        typing = await discord.autocomplete(
            guild.id, alice.id, "fruit", {"name": "ap"}, focused="name"
        )
        choices = await discord.wait_for_response(typing)

    assert choices.json["type"] == 8
    assert [c["value"] for c in choices.json["data"]["choices"]] == ["apple", "apricot"]


admin = lightbulb.Group("admin", "Admin tools")
economy = admin.subgroup("economy", "Economy tools")


@economy.register
class Grant(
    lightbulb.SlashCommand,
    name="grant",
    description="Grant bytes",
    hooks=[lightbulb.prefab.has_permissions(hikari.Permissions.MANAGE_GUILD)],
):
    amount = lightbulb.integer("amount", "How many")

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context) -> None:
        await ctx.respond(f"granted {self.amount}")


async def deny_missing_permissions(
    exc: lightbulb.exceptions.ExecutionPipelineFailedException,
) -> bool:
    if any(isinstance(c, lightbulb.prefab.MissingRequiredPermission) for c in exc.causes):
        await exc.context.respond("denied", ephemeral=True)
        return True
    return False


async def test_subcommand_group_and_permission_hook_see_member_permissions(
    discord: FakeDiscord,
) -> None:
    guild = discord.add_guild()
    manager = discord.add_member(
        guild.id, username="manager", permissions=int(hikari.Permissions.MANAGE_GUILD)
    )
    member = discord.add_member(guild.id, username="member")
    bot = make_bot(discord)
    client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
    client.register(admin)
    client.error_handler(deny_missing_permissions)

    async with running_bot(bot, discord, client=client):
        allowed = await discord.slash_command(
            guild.id, manager.id, "admin economy grant", {"amount": 5}
        )
        refused = await discord.slash_command(
            guild.id, member.id, "admin economy grant", {"amount": 5}
        )
        allowed_reply = await discord.wait_for_response(allowed)
        refused_reply = await discord.wait_for_response(refused)

    (option,) = allowed.payload["data"]["options"]
    assert (option["name"], option["type"], option["options"][0]["name"]) == ("economy", 2, "grant")
    assert allowed_reply.json["data"]["content"] == "granted 5"
    assert refused_reply.json["data"]["content"] == "denied"


async def test_two_shards_each_get_their_guilds(discord: FakeDiscord) -> None:
    first = discord.add_guild(discord.snowflake_on_shard(0, 2), name="zero")
    second = discord.add_guild(discord.snowflake_on_shard(1, 2), name="one")
    alice = discord.add_member(second.id, username="alice")
    bot = make_bot(discord, intents=INTENTS)
    messages = _queue_events(bot, hikari.GuildMessageCreateEvent)

    async with running_bot(bot, discord, shard_count=2):
        assert {g.id for g in bot.cache.get_guilds_view().values()} == {first.id, second.id}
        await discord.send_message(second.id, None, alice.id, "on shard one")
        event = await _next(messages)

    assert event.shard.id == 1
    assert sorted(tuple(p["shard"]) for p in discord.identify_payloads()) == [(0, 2), (1, 2)]
    creates = {
        (e.shard_id, int(e.data["id"])) for e in discord.sent_events if e.name == "GUILD_CREATE"
    }
    assert creates == {(0, first.id), (1, second.id)}


async def test_resume_replays_missed_and_duplicate_events(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice")
    bot = make_bot(discord, intents=INTENTS)
    messages = _queue_events(bot, hikari.GuildMessageCreateEvent)
    resumed = _queue_events(bot, hikari.ShardResumedEvent)

    async with running_bot(bot, discord):
        await discord.send_message(guild.id, None, alice.id, "before")
        assert (await _next(messages)).content == "before"
        await discord.drop_connection(0, replay_duplicates=1)
        await discord.send_message(guild.id, None, alice.id, "while away")
        await _next(resumed)
        replayed = [(await _next(messages)).content for _ in range(2)]

    assert replayed == ["before", "while away"]
    assert any(p.get("op") == 6 for conn in discord.gateway.connections for p in conn.received)


async def test_member_events_and_rest_errors(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    member_role = discord.add_role(guild.id, "Member")
    admin_role = discord.add_role(guild.id, "Admin", position=200)
    bot = make_bot(discord, intents=INTENTS)
    joins = _queue_events(bot, hikari.MemberCreateEvent)
    leaves = _queue_events(bot, hikari.MemberDeleteEvent)

    async with running_bot(bot, discord):
        carol = await discord.member_add(guild.id, username="carol")
        assert (await _next(joins)).user.username == "carol"

        await bot.rest.add_role_to_member(guild.id, carol.id, member_role.id)
        assert carol.roles == [member_role.id]
        with pytest.raises(hikari.ForbiddenError):
            await bot.rest.add_role_to_member(guild.id, carol.id, admin_role.id)
        with pytest.raises(hikari.NotFoundError):
            await bot.rest.add_role_to_member(guild.id, carol.id, 12345)
        discord.fail("POST", r"/channels/\d+/messages")
        with pytest.raises(hikari.ForbiddenError):
            await bot.rest.create_message(discord.default_channel(guild.id).id, "refused")
        sent = await bot.rest.create_message(discord.default_channel(guild.id).id, "accepted")
        assert discord.messages[sent.id]["content"] == "accepted"
        with pytest.raises(hikari.NotFoundError):
            await bot.rest.fetch_channel(999)

        await discord.member_remove(guild.id, carol.id)
        assert (await _next(leaves)).user_id == carol.id

    statuses = [
        (c.method, c.status) for c in discord.calls(path_prefix=f"/guilds/{guild.id}/members")
    ]
    assert statuses == [("PUT", 204), ("PUT", 403), ("PUT", 404)]
    async with httpx.AsyncClient(base_url=discord.rest_url) as http:
        unknown = await http.get("/nowhere", headers={"Authorization": f"Bot {discord.token}"})
    assert unknown.status_code == 404
    assert unknown.json() == {"code": 0, "message": "404: Not Found"}
    assert discord.calls("GET", "/nowhere")[0].status == 404


async def test_oauth_login_returns_user_and_guild_permissions(discord: FakeDiscord) -> None:
    owned = discord.add_guild(name="Owned")
    alice = discord.users[owned.owner_id]
    managed = discord.add_guild(name="Managed")
    manager = discord.add_role(managed.id, "Manager", int(hikari.Permissions.MANAGE_GUILD))
    discord.add_member(managed.id, alice.id, roles=[manager.id])
    discord.add_guild(name="Elsewhere")
    discord.oauth_login_as(alice.id)
    redirect_uri = "http://dashboard.test/auth/callback"

    async with httpx.AsyncClient(base_url=discord.base_url) as http:
        query = {
            "client_id": str(discord.application_id),
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "identify guilds",
            "state": "xyz",
        }
        authorize = await http.get("/oauth2/authorize", params=query)
        assert authorize.status_code == 302
        location = urllib.parse.urlsplit(authorize.headers["location"])
        params = dict(urllib.parse.parse_qsl(location.query))
        assert params["state"] == "xyz"
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "client_id": str(discord.application_id),
            "client_secret": discord.client_secret,
        }
        token = await http.post("/api/v10/oauth2/token", data=form)
        assert token.status_code == 200
        assert token.json()["scope"] == "identify guilds"
        again = await http.post("/api/v10/oauth2/token", data=form)
        assert again.json()["error"] == "invalid_grant"

        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = (await http.get("/api/v10/users/@me", headers=bearer)).json()
        guilds = (await http.get("/api/v10/users/@me/guilds", headers=bearer)).json()

    assert me["id"] == str(alice.id)
    by_name = {g["name"]: g for g in guilds}
    assert set(by_name) == {"Owned", "Managed"}
    assert by_name["Owned"]["owner"] is True
    assert int(by_name["Owned"]["permissions"]) & int(hikari.Permissions.ADMINISTRATOR)
    assert by_name["Managed"]["owner"] is False
    assert int(by_name["Managed"]["permissions"]) & int(hikari.Permissions.MANAGE_GUILD)
    assert not int(by_name["Managed"]["permissions"]) & int(hikari.Permissions.ADMINISTRATOR)


async def test_unchanged_commands_are_not_pushed_again_on_restart(discord: FakeDiscord) -> None:
    guild = discord.add_guild()
    for _ in range(2):
        bot = make_bot(discord)
        client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
        client.register(Ping)
        client.register(Fruit)
        async with running_bot(bot, discord, client=client):
            pass

    puts = discord.calls("PUT", f"/applications/{discord.application_id}/")
    assert len(puts) == 1
    assert len(discord.calls("GET", f"/applications/{discord.application_id}/guilds/")) == 2
    assert [s.ended for s in discord.gateway.sessions.values()] == [True, True]


class Slow(lightbulb.SlashCommand, name="slow", description="Defers, then follows up"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context) -> None:
        await ctx.defer()
        first = await ctx.respond("done")
        await ctx.edit_response(first, "done!")
        await ctx.respond("and one more")


async def test_deferred_follow_ups_and_rest_reads_deserialize_in_hikari(
    discord: FakeDiscord,
) -> None:
    guild = discord.add_guild()
    alice = discord.add_member(guild.id, username="alice", nick="Al")
    bot = make_bot(discord)
    client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
    client.register(Slow)

    async with running_bot(bot, discord, client=client):
        slow = await discord.slash_command(guild.id, alice.id, "slow")
        hook = rf"/webhooks/{discord.application_id}/{slow.token}"
        await discord.wait_for_calls("POST", hook, 2)
        assert (await discord.wait_for_response(slow)).json["type"] == 5
        assert discord.response_message(slow)["content"] == "done!"
        assert [m["content"] for m in discord.channel_messages(slow.channel_id)] == [
            "done!",
            "and one more",
        ]

        rest = bot.rest
        assert (await rest.fetch_guild(guild.id)).name == guild.name
        assert {r.name for r in await rest.fetch_roles(guild.id)} >= {"@everyone"}
        assert [c.name for c in await rest.fetch_guild_channels(guild.id)] == ["general"]
        assert (await rest.fetch_member(guild.id, alice.id)).nickname == "Al"
        assert alice.id in {m.id for m in await rest.fetch_members(guild.id)}
        assert (await rest.fetch_user(alice.id)).username == "alice"

        dm = await rest.create_dm_channel(alice.id)
        note = await rest.create_message(dm.id, "psst")
        assert note.guild_id is None
        await rest.pin_message(dm.id, note.id)
        assert [p.message.id for p in await rest.fetch_pins(dm.id)] == [note.id]
        await rest.add_reaction(dm.id, note.id, "👍")
        fetched = await rest.fetch_message(dm.id, note.id)
        assert (fetched.reactions[0].emoji.name, fetched.reactions[0].count) == ("👍", 1)
        assert (await rest.edit_message(dm.id, note.id, "edited")).content == "edited"
        await rest.delete_message(dm.id, note.id)
        with pytest.raises(hikari.NotFoundError):
            await rest.fetch_message(dm.id, note.id)
