"""One place where failures become what a member reads: friendly, specific, ephemeral."""

from __future__ import annotations

import hikari
import lightbulb
import structlog
from lightbulb.components import MenuContext

from guildbank.bot.checks import FeatureOff, GuildOnly, MissingLevel, NotEconomyAdmin
from guildbank.bot.transport import ApiError, ApiUnavailable

__all__ = ["explain", "explain_on_prompt", "handle_command_error", "log_failure"]

log = structlog.get_logger(__name__)
TRY_AGAIN = "guildbank is having trouble right now; nothing was changed. Please try again shortly."
ALREADY_ACKNOWLEDGED = 40060  # Discord: "Interaction has already been acknowledged."


def _check_refusal(error: BaseException) -> str | None:
    """What a failed command check tells the member (None: not a check's refusal)."""
    if isinstance(error, GuildOnly):
        return "This command only works inside a server."
    if isinstance(error, NotEconomyAdmin):
        return (
            "You need the Manage Server permission or one of this server's admin roles "
            "to manage the economy."
        )
    if isinstance(error, MissingLevel):
        return f"You need to be a {error.needed.label} of this server (or above) to do this."
    if isinstance(error, FeatureOff):
        return f"The {error.feature} feature is disabled on this server."
    return None


def explain(error: BaseException) -> str:
    """The message for a member; unexpected errors get a generic one (and are logged)."""
    refusal = _check_refusal(error)
    if refusal is not None:
        return refusal
    if isinstance(error, ApiError) and not isinstance(error, ApiUnavailable):
        return error.detail
    return TRY_AGAIN


def log_failure(error: BaseException, command: str) -> None:
    """Log what an operator must see: the API being down, or a bug (refusals are normal)."""
    if isinstance(error, ApiUnavailable) or not isinstance(
        error, ApiError | GuildOnly | MissingLevel | FeatureOff
    ):
        log.error("command failed", command=command, error=repr(error), exc_info=error)


async def explain_on_prompt(pressed: MenuContext, error: BaseException, command: str) -> None:
    """Tell the member about a failure after they confirmed, on the prompt itself (its
    buttons go, so nothing stale stays clickable)."""
    log_failure(error, command)
    await pressed.respond(explain(error), edit=True, components=[])


async def handle_command_error(exc: lightbulb.exceptions.ExecutionPipelineFailedException) -> bool:
    causes = [*exc.hook_failures]
    if exc.invocation_failure is not None:
        causes.append(exc.invocation_failure)
    cause = causes[0] if causes else exc
    command = exc.context.command_data.qualified_name
    if isinstance(cause, hikari.BadRequestError) and cause.code == ALREADY_ACKNOWLEDGED:
        # The same interaction delivered twice (a gateway replay, or two processes): the
        # other copy answered; the write was idempotent. Nothing to tell anyone.
        log.info("interaction already answered", command=command)
        return True
    log_failure(cause, command)
    try:
        await exc.context.respond(explain(cause), ephemeral=True)
    except Exception as error:
        log.warning("could not tell the member about a failure", error=repr(error))
    return True
