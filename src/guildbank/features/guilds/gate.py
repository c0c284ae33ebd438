"""Feature toggles at the API's door: a turned-off feature's routes answer 409
``feature_disabled`` (after the key is checked, so nothing leaks to a caller without one).

Each feature's router takes ``dependencies=[feature_on("squads")]``; a lean route calls
``check_feature`` itself. The check reads the process's cached settings (dropped on
``config.changed``), so it costs a dictionary lookup on the hot path.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from guildbank.api.deps import api_state, authorize
from guildbank.features.guilds.errors import FeatureDisabled
from guildbank.features.guilds.queries import CONFIGS, get_config
from guildbank.features.guilds.rules import FEATURE_TOGGLES
from guildbank.platform.uow import unit_of_work

__all__ = ["check_feature", "feature_on"]


async def check_feature(request: Request, guild_id: str, feature: str) -> None:
    """Refuse (409 ``feature_disabled``) when the guild turned ``feature`` off; 404 for an
    unknown guild."""
    services = api_state(request).services
    config = services.caches[CONFIGS].get(guild_id)
    if config is None:
        async with unit_of_work(services, read_only=True) as uow:
            config = await get_config(uow, guild_id)
            await uow.commit()
    if not config.enabled(feature):
        raise FeatureDisabled(feature)


def feature_on(feature: str) -> Any:
    """A router dependency: the caller's key is checked (any scope, its guilds), then the
    guild in the path must have ``feature`` on. The routes check their own scopes."""
    if feature not in FEATURE_TOGGLES:
        msg = f"unknown feature toggle {feature!r}"
        raise ValueError(msg)

    async def dependency(request: Request) -> None:
        await authorize(request, None)
        await check_feature(request, str(request.path_params["guild_id"]), feature)

    return Depends(dependency)
