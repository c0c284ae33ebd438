"""Guild registration and per-guild economy settings (SPEC §4, §4.1), on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from guildbank.core.errors import InvalidInput
from guildbank.features.economy import queries as reports
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.ledger.accounts import SYSTEM_ACCOUNTS
from guildbank.platform.models.guilds import Guild
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID
from tests.factories import balance_view, claim, configure, guild_money, member

UNKNOWN_GUILD = "999999999999999999"


async def read_config(services: Services, guild_id: str) -> EconomyConfig:
    async with unit_of_work(services, read_only=True) as uow:
        return await get_config(uow, guild_id)


async def test_a_new_guild_gets_the_spec_defaults(services: Services) -> None:
    async with unit_of_work(services) as uow:
        assert await register_guild(uow, guild_id=GUILD_ID, name="Fresh")
        await uow.commit()
    services.caches.clear()  # read from the database, not from the cache
    config = await read_config(services, GUILD_ID)
    assert config.starting_balance == 100
    assert config.daily_amount == 10
    assert dict(config.streak_bonuses) == {8: 2, 16: 4, 32: 8, 64: 16}
    assert config.max_transfer == 1000
    assert config.transfer_cooldown_hours == 0
    assert config.confirm_threshold == 100
    assert config.timezone == "UTC"
    assert dict(config.role_rewards) == {}
    assert config == EconomyConfig()
    money = await guild_money(services, GUILD_ID)
    assert sorted(money.accounts) == sorted(SYSTEM_ACCOUNTS)
    assert money.transactions == 0


async def test_registering_twice_is_a_no_op(services: Services, guild: str) -> None:
    await configure(services, guild, daily_amount=42)
    await claim(services, guild, member(1))
    before = await guild_money(services, guild)
    async with unit_of_work(services) as uow:
        assert not await register_guild(uow, guild_id=guild, name="Test guild")
        await uow.commit()
    assert await guild_money(services, guild) == before
    services.caches.clear()
    assert (await read_config(services, guild)).daily_amount == 42


async def test_registering_again_renames_the_guild(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        assert not await register_guild(uow, guild_id=guild, name="Renamed")
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        row = await uow.session.get(Guild, guild)
        assert row is not None
        assert row.name == "Renamed"


@pytest.mark.parametrize("guild_id", ["", "abc", "0", "-5", "9" * 25])
async def test_registering_a_malformed_id_is_refused(services: Services, guild_id: str) -> None:
    async with unit_of_work(services) as uow:
        with pytest.raises(InvalidInput) as caught:
            await register_guild(uow, guild_id=guild_id)
    assert caught.value.code == "invalid_id"


@pytest.mark.parametrize("guild_id", [UNKNOWN_GUILD, "not-a-guild"])
async def test_unknown_guild_is_not_found(services: Services, guild: str, guild_id: str) -> None:
    with pytest.raises(GuildNotFound) as caught:
        await read_config(services, guild_id)
    assert caught.value.code == "guild_not_found"
    assert caught.value.kind == "not_found"
    with pytest.raises(GuildNotFound):
        await configure(services, guild_id, daily_amount=5)
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(GuildNotFound):
            await reports.get_balance(uow, guild_id=guild_id, user_id=member(1))


async def test_update_config_persists_every_setting(services: Services, guild: str) -> None:
    changes: dict[str, Any] = {
        "starting_balance": 50,
        "daily_amount": 7,
        "streak_bonuses": {3: 2, 10: 5},
        "max_transfer": 300,
        "transfer_cooldown_hours": 2,
        "confirm_threshold": 25,
        "rate_limit_per_minute": 9,
        "role_rewards": {"500000000000000001": 200},
        "currency_name": "coins",
        "currency_emoji": "🪙",
        "timezone": "Europe/Paris",
    }
    returned = await configure(services, guild, **changes)
    services.caches.clear()
    stored = await read_config(services, guild)
    assert stored == returned == EconomyConfig(**changes, version=3)  # the fixture saved too


async def test_changed_settings_apply_to_the_next_operation(services: Services, guild: str) -> None:
    await configure(services, guild, starting_balance=500, daily_amount=1)
    assert (await claim(services, guild, member(1))).balance == 501


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone"),
        ({"timezone": ""}, "invalid_timezone"),
        ({"timezone": "../etc/passwd"}, "invalid_timezone"),
        ({"nonsense": 1}, "unknown_setting"),
        ({"daily_amount": 5, "bogus": True}, "unknown_setting"),
        ({"role_rewards": {"not-a-role": 10}}, "invalid_id"),
        ({"role_rewards": {"500000000000000001": 10, "0": 20}}, "invalid_id"),
    ],
)
async def test_invalid_changes_are_refused_and_change_nothing(
    services: Services, guild: str, changes: dict[str, Any], code: str
) -> None:
    before_config = await read_config(services, guild)
    before = await guild_money(services, guild)
    async with unit_of_work(services) as uow:
        with pytest.raises(InvalidInput) as caught:
            await update_config(uow, guild_id=guild, changes=changes)
        await uow.commit()  # even a commit after the refusal writes nothing
    assert caught.value.code == code
    assert await guild_money(services, guild) == before
    assert await read_config(services, guild) == before_config
    services.caches.clear()
    assert await read_config(services, guild) == before_config


async def test_balance_of_an_unknown_member_is_the_starting_balance_and_creates_nothing(
    services: Services, guild: str
) -> None:
    await configure(services, guild, starting_balance=250)
    before = await guild_money(services, guild)
    view = await balance_view(services, guild, member(7))
    assert (view.balance, view.exists, view.daily_available) == (250, False, True)
    assert (view.total_received, view.total_sent, view.streak_count) == (0, 0, 0)
    assert await guild_money(services, guild) == before
    async with unit_of_work(services, read_only=True) as uow:
        count = (
            await uow.session.execute(
                select(func.count()).where(Account.guild_id == guild, Account.user_id == member(7))
            )
        ).scalar_one()
    assert count == 0


async def test_balance_of_a_malformed_user_id_is_refused(services: Services, guild: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(InvalidInput) as caught:
            await reports.get_balance(uow, guild_id=guild, user_id="mint")
    assert caught.value.code == "invalid_id"
