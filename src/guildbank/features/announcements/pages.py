"""The announcements feature's dashboard routes: Embeds (``embed_pages``), Announcements
(``announcement_pages``) and the operator's System page (``pages_system``), and the editor's
static files.

The editor's script and styles are served from this feature's ``static`` folder under
``/admin/assets/announcements/`` (the CSP allows no inline script and no CDN).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from guildbank.features.announcements.announcement_pages import (
    announcement_action,
    announcement_create,
    announcement_list,
    announcement_page,
    announcement_save,
    task_announce,
)
from guildbank.features.announcements.embed_pages import (
    command_create,
    command_delete,
    embed_delete,
    embed_edit,
    embed_list,
    embed_post,
    embed_save,
)
from guildbank.features.announcements.pages_system import system_routes
from guildbank.features.guilds.permissions import Level
from guildbank.web.guard import page

__all__ = ["routes"]

STATIC = Path(__file__).parent / "static"
ASSETS = {"embed-editor.js": "text/javascript", "embed-preview.css": "text/css"}
FEATURE = "announcements"


async def asset(request: Request) -> Response:
    name = str(request.path_params["name"])
    if name not in ASSETS:
        return Response("not found", status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name])


def _routes() -> list[BaseRoute]:
    g = "/guilds/{guild_id}"
    view = {"level": Level.MODERATOR, "feature": FEATURE}
    return [
        Route("/assets/announcements/{name}", asset, methods=["GET"]),
        Route(f"{g}/embeds", page(embed_list, **view), methods=["GET"], name="embeds"),  # type: ignore[arg-type]
        Route(f"{g}/embeds", page(embed_save, feature=FEATURE), methods=["POST"]),
        Route(f"{g}/embeds/{{embed_id}}", page(embed_edit, **view), methods=["GET"]),  # type: ignore[arg-type]
        Route(f"{g}/embeds/{{embed_id}}", page(embed_save, feature=FEATURE), methods=["POST"]),
        Route(f"{g}/embeds/{{embed_id}}/post", page(embed_post, feature=FEATURE), methods=["POST"]),
        Route(
            f"{g}/embeds/{{embed_id}}/delete", page(embed_delete, feature=FEATURE), methods=["POST"]
        ),
        Route(f"{g}/commands", page(command_create, feature=FEATURE), methods=["POST"]),
        Route(
            f"{g}/commands/{{name}}/delete", page(command_delete, feature=FEATURE), methods=["POST"]
        ),
        Route(
            f"{g}/announcements",
            page(announcement_list, **view),  # type: ignore[arg-type]
            methods=["GET"],
            name="announcements",
        ),
        Route(f"{g}/announcements", page(announcement_create, feature=FEATURE), methods=["POST"]),
        # Before ``/announcements/{announcement_id}``, which would take "task" as an id.
        Route(f"{g}/announcements/task", page(task_announce, feature=FEATURE), methods=["POST"]),
        Route(
            f"{g}/announcements/{{announcement_id}}",
            page(announcement_page, **view),  # type: ignore[arg-type]
            methods=["GET"],
        ),
        Route(
            f"{g}/announcements/{{announcement_id}}",
            page(announcement_save, feature=FEATURE),
            methods=["POST"],
        ),
        Route(
            f"{g}/announcements/{{announcement_id}}/{{action}}",
            page(announcement_action, feature=FEATURE),
            methods=["POST"],
        ),
        *system_routes(),
    ]


routes = _routes()
