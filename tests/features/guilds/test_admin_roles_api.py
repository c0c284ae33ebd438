"""``admin_role_ids`` in ``…/bytes/config``: Discord role ids, at most 25, deduplicated."""

from __future__ import annotations

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.factories import bytes_url, db_snapshot, error_of

ROLE_A, ROLE_B = "444444444444444444", "555555555555555555"


async def test_admin_roles_are_stored_replaced_and_cleared(
    api: httpx.AsyncClient, guild: str
) -> None:
    url = bytes_url(guild, "/config")
    assert (await api.get(url)).json()["admin_role_ids"] == []
    response = await api.put(url, json={"admin_role_ids": [ROLE_A, ROLE_B, ROLE_A]})
    assert response.status_code == 200, response.text
    assert response.json()["admin_role_ids"] == [ROLE_A, ROLE_B]
    assert (await api.get(url)).json()["admin_role_ids"] == [ROLE_A, ROLE_B]
    # Other changes leave the roles alone; an empty list clears them.
    assert (await api.put(url, json={"daily_amount": 3})).json()["admin_role_ids"] == [
        ROLE_A,
        ROLE_B,
    ]
    assert (await api.put(url, json={"admin_role_ids": []})).json()["admin_role_ids"] == []


@pytest.mark.parametrize(
    "roles",
    [
        ["not-a-role"],
        ["99999999999999999999"],  # beyond 64 bits
        ["-444444444444444444"],
        ["0444444444444444444"],
        [444444444444444444],  # ids are strings
        [str(10**17 + n) for n in range(26)],  # more than 25
        ROLE_A,  # not a list
        None,
    ],
)
async def test_bad_admin_roles_are_refused(
    api: httpx.AsyncClient, guild: str, services: Services, roles: object
) -> None:
    before = await db_snapshot(services)
    response = await api.put(bytes_url(guild, "/config"), json={"admin_role_ids": roles})
    if roles is None:  # null means "no change", like every other setting
        assert response.status_code == 200, response.text
    else:
        error_of(response, 422, "validation_error")
    assert await db_snapshot(services) == before
