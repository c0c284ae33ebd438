"""Pure rules: Discord's embed limits, custom command names, the bot's presence values.

Embed validation returns *every* violation (a path such as ``fields[3].value``, a stable code
and a sentence), so the API, the dashboard editor and tests name all of them at once rather
than the first. Limits are Discord's (developer docs, "Embed Limits"), counted in characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "ACTIVITY_TYPES",
    "BUILT_IN_COMMANDS",
    "EMBED_LIMITS",
    "MAX_COLOR",
    "MAX_CONTENT",
    "PRESENCE_STATUSES",
    "Violation",
    "command_name_problem",
    "embed_length",
    "embed_violations",
]

MAX_CONTENT = 2000
MAX_COLOR = 0xFFFFFF
EMBED_LIMITS: Mapping[str, int] = {
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field.name": 256,
    "field.value": 1024,
    "footer.text": 2048,
    "author.name": 256,
    "total": 6000,
}
# Where Discord takes a link; each must be http(s) (attachment:// needs an upload we lack).
URL_PATHS = (
    "url",
    "image.url",
    "thumbnail.url",
    "author.url",
    "author.icon_url",
    "footer.icon_url",
)
MAX_URL = 2048
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

# Top-level commands the bot itself registers: a custom command may not take their names
# (tests/features/announcements check this covers every loaded command).
BUILT_IN_COMMANDS = frozenset(
    {
        "balance",
        "buy",
        "bytes",
        "daily",
        "economy",
        "give",
        "help",
        "inventory",
        "sell",
        "shop",
        "squads",
        "task",
        "tasks",
        "use",
    }
)
# Discord's rule for a slash command's name, lowercase where the script has case.
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")

PRESENCE_STATUSES = ("online", "idle", "dnd", "invisible")
ACTIVITY_TYPES = ("playing", "listening", "watching", "competing", "custom")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken limit: where (``fields[2].name``), a stable code, and what to do."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


def _text(embed: Mapping[str, Any], path: str) -> str:
    node: Any = embed
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, str) else ""


def embed_length(embed: Mapping[str, Any]) -> int:
    """The characters Discord counts toward the 6000 total: title, description, field
    names and values, footer text and author name."""
    fields = embed.get("fields") or []
    return sum(
        len(_text(embed, p)) for p in ("title", "description", "footer.text", "author.name")
    ) + sum(
        len(str(f.get("name") or "")) + len(str(f.get("value") or ""))
        for f in fields
        if isinstance(f, Mapping)
    )


def _too_long(path: str, value: str, limit: int) -> Violation | None:
    if len(value) <= limit:
        return None
    return Violation(
        path, "too_long", f"{path} is {len(value):,} characters; Discord allows {limit:,}."
    )


def _field_violations(fields: Any) -> Iterable[Violation]:
    if not isinstance(fields, list):
        yield Violation("fields", "invalid_type", "fields must be a list.")
        return
    if len(fields) > EMBED_LIMITS["fields"]:
        yield Violation(
            "fields",
            "too_many_fields",
            f"The embed has {len(fields)} fields; Discord allows {EMBED_LIMITS['fields']}.",
        )
    for index, field in enumerate(fields):
        where = f"fields[{index}]"
        if not isinstance(field, Mapping):
            yield Violation(where, "invalid_type", f"{where} must be an object.")
            continue
        for part in ("name", "value"):
            value = field.get(part)
            if not isinstance(value, str) or not value.strip():
                yield Violation(f"{where}.{part}", "required", f"{where}.{part} is required.")
            elif (
                problem := _too_long(f"{where}.{part}", value, EMBED_LIMITS[f"field.{part}"])
            ) is not None:
                yield problem
        if "inline" in field and not isinstance(field["inline"], bool):
            yield Violation(
                f"{where}.inline", "invalid_type", f"{where}.inline must be true or false."
            )


def _part_violations(embed: Mapping[str, Any]) -> Iterable[Violation]:
    for path in ("title", "description", "footer.text", "author.name"):
        limit = EMBED_LIMITS[path]
        if (problem := _too_long(path, _text(embed, path), limit)) is not None:
            yield problem
    for holder, needed in (("footer", "text"), ("author", "name")):
        part = embed.get(holder)
        if part is not None and (
            not isinstance(part, Mapping) or not _text(embed, f"{holder}.{needed}").strip()
        ):
            yield Violation(f"{holder}.{needed}", "required", f"A {holder} needs its {needed}.")
    for path in URL_PATHS:
        url = _text(embed, path)
        if url and (len(url) > MAX_URL or not _URL.match(url)):
            yield Violation(path, "invalid_url", f"{path} must be an http(s) link.")


def embed_violations(embed: Mapping[str, Any]) -> list[Violation]:
    """Every way ``embed`` (Discord's JSON shape) breaks Discord's limits; empty when valid."""
    problems: list[Violation] = list(_part_violations(embed))
    if "fields" in embed:
        problems.extend(_field_violations(embed["fields"]))
    color = embed.get("color")
    if color is not None and (
        isinstance(color, bool) or not isinstance(color, int) or not 0 <= color <= MAX_COLOR
    ):
        problems.append(
            Violation("color", "invalid_color", "color must be a whole number from 0 to 0xFFFFFF.")
        )
    stamp = embed.get("timestamp")
    if stamp is not None and not _is_timestamp(stamp):
        problems.append(
            Violation("timestamp", "invalid_timestamp", "timestamp must be an ISO 8601 date-time.")
        )
    total = embed_length(embed)
    if total > EMBED_LIMITS["total"]:
        problems.append(
            Violation(
                "embed",
                "embed_too_long",
                f"The embed's texts add up to {total:,} characters; Discord allows "
                f"{EMBED_LIMITS['total']:,} in all.",
            )
        )
    if not problems and not _shows_something(embed):
        problems.append(
            Violation(
                "embed",
                "empty_embed",
                "The embed shows nothing: give it a title, a "
                "description, a field, an image or an author.",
            )
        )
    return problems


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _shows_something(embed: Mapping[str, Any]) -> bool:
    return bool(
        _text(embed, "title").strip()
        or _text(embed, "description").strip()
        or embed.get("fields")
        or _text(embed, "image.url")
        or _text(embed, "thumbnail.url")
        or _text(embed, "author.name").strip()
        or _text(embed, "footer.text").strip()
    )


def command_name_problem(name: str, *, reserved: Iterable[str] = BUILT_IN_COMMANDS) -> str | None:
    """Why ``name`` cannot be a custom slash command (None when it can)."""
    if not 1 <= len(name) <= 32:
        return "A command name is 1 to 32 characters."
    if name != name.lower():
        return "A command name is lowercase."
    if not _COMMAND_NAME.match(name):
        return "A command name holds only letters, digits, - and _ (no spaces)."
    if name in set(reserved):
        return f"/{name} is one of the bot's own commands: pick another name."
    return None
