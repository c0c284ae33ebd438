"""The one confirmation menu: every command that asks before it acts asks the same way.

Confirm and Cancel buttons that only the member who asked may press. A press stops the
menu; without one within ``MENU_TIMEOUT_SECONDS`` the buttons are disabled and the prompt
says that nothing happened, so a stale prompt never looks clickable. Menus live in this
process's memory, which suits the gateway: a guild's interactions reach the process that
showed the prompt.
"""

from __future__ import annotations

from typing import Any

import hikari
import lightbulb
from lightbulb.components import Menu, MenuContext

__all__ = ["MENU_TIMEOUT_SECONDS", "Confirmation"]

MENU_TIMEOUT_SECONDS = 60.0


class Confirmation(Menu):
    """Confirm / Cancel for one member.

    ``refusal`` answers anyone else who presses; ``not_done`` completes "Cancelled: …" and
    "Timed out: …" (e.g. "nothing was sent").
    """

    def __init__(
        self,
        user_id: hikari.Snowflake,
        *,
        refusal: str,
        not_done: str,
        confirm_label: str = "Confirm",
    ) -> None:
        self.user_id = user_id
        self.refusal = refusal
        self.not_done = not_done
        self.confirmed = False
        self.pressed: MenuContext | None = None
        self.add_interactive_button(
            hikari.ButtonStyle.SUCCESS, self._on_confirm, label=confirm_label
        )
        self.add_interactive_button(hikari.ButtonStyle.SECONDARY, self._on_cancel, label="Cancel")

    async def predicate(self, ctx: MenuContext) -> bool:
        if ctx.user.id != self.user_id:
            await ctx.respond(self.refusal, ephemeral=True)
            return False
        return True

    async def _on_confirm(self, ctx: MenuContext) -> None:
        self.confirmed, self.pressed = True, ctx
        ctx.stop_interacting()

    async def _on_cancel(self, ctx: MenuContext) -> None:
        self.confirmed, self.pressed = False, ctx
        ctx.stop_interacting()

    async def wait_for_confirm(
        self,
        client: lightbulb.Client,
        prompter: lightbulb.context.MessageResponseMixin[Any],
        prompt: hikari.Snowflakeish,
    ) -> MenuContext | None:
        """Wait for a press on ``prompt`` (a response of ``prompter`` showing this menu).

        Returns the Confirm press, to be answered on the prompt itself (``respond(...,
        edit=True)``); None when the member cancelled or let it time out, after saying so.
        """
        try:
            await self.attach(client, timeout=MENU_TIMEOUT_SECONDS)
        except TimeoutError:
            self.disable_all_components()
            await prompter.edit_response(prompt, f"Timed out: {self.not_done}.", components=self)
            return None
        pressed = self.pressed
        assert pressed is not None
        if not self.confirmed:
            await pressed.respond(f"Cancelled: {self.not_done}.", edit=True, components=[])
            return None
        return pressed
