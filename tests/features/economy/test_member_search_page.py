"""Issue 14, item 5: the members page finds a member by any part of the id (the end an admin
copied, a middle run of digits), not only by its first digits; on both backends."""

from __future__ import annotations

import re

import httpx

from guildbank.platform.uow import Services
from tests.factories import fund, member


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-member="(\d+)">', html)


async def test_members_are_found_by_any_part_of_their_id(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    for n, balance in ((1, 10), (23, 30), (123, 20), (7, 40)):
        await fund(services, guild, member(n), balance)
    members = f"/admin/guilds/{guild}/members"

    async def found(q: str) -> list[str]:
        response = await admin.get(members, params={"q": q})
        assert response.status_code == 200
        return _rows(response.text)

    assert await found("123") == [member(123)]
    assert await found("23") == [member(23), member(123)]  # richest first
    assert await found(member(7)[5:12]) == [member(7), member(23), member(123), member(1)]
    assert await found("3000") == [member(7), member(23), member(123), member(1)]
    assert await found("4242") == []
    assert await found("") == [member(7), member(23), member(123), member(1)]
