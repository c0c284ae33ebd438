"""The dashboard's embed editor form: flat inputs in, Discord's embed JSON out, and each
violation of Discord's limits shown next to its input (and all of them above the form).

The fields of an embed arrive as parallel lists (``field_name``, ``field_value``,
``field_inline``) in the order the rows stand on the page, so reordering rows in the browser
reorders the fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from guildbank.features.announcements.errors import InvalidEmbed
from guildbank.features.announcements.rules import EMBED_LIMITS, embed_violations
from guildbank.features.announcements.schemas import EmbedIn

__all__ = ["EmbedForm"]

TEXTS = (
    "name",
    "title",
    "description",
    "url",
    "color",
    "author_name",
    "author_url",
    "author_icon_url",
    "thumbnail_url",
    "image_url",
    "footer_text",
    "footer_icon_url",
    "timestamp",
)
# Discord JSON path → the input that edits it.
INPUT_OF = {
    "title": "title",
    "description": "description",
    "url": "url",
    "color": "color",
    "author.name": "author_name",
    "author.url": "author_url",
    "author.icon_url": "author_icon_url",
    "thumbnail.url": "thumbnail_url",
    "image.url": "image_url",
    "footer.text": "footer_text",
    "footer.icon_url": "footer_icon_url",
    "timestamp": "timestamp",
    "fields": "fields",
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_ROW = re.compile(r"^fields\[(\d+)\]\.(name|value)$")


@dataclass
class EmbedForm:
    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(TEXTS, ""))
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    version: int = 0

    limits: Mapping[str, int] = field(default_factory=lambda: EMBED_LIMITS)

    @classmethod
    def blank(cls) -> EmbedForm:
        return cls(values={**dict.fromkeys(TEXTS, ""), "color": "#5865f2"})

    @classmethod
    def from_embed(cls, name: str, embed: Mapping[str, Any], version: int = 0) -> EmbedForm:
        author = embed.get("author") or {}
        footer = embed.get("footer") or {}
        color = embed.get("color")
        values = {
            "name": name,
            "title": embed.get("title", ""),
            "description": embed.get("description", ""),
            "url": embed.get("url", ""),
            "color": "" if color is None else f"#{color:06x}",
            "author_name": author.get("name", ""),
            "author_url": author.get("url", ""),
            "author_icon_url": author.get("icon_url", ""),
            "thumbnail_url": (embed.get("thumbnail") or {}).get("url", ""),
            "image_url": (embed.get("image") or {}).get("url", ""),
            "footer_text": footer.get("text", ""),
            "footer_icon_url": footer.get("icon_url", ""),
            "timestamp": embed.get("timestamp", ""),
        }
        rows = [
            {
                "name": f.get("name", ""),
                "value": f.get("value", ""),
                "inline": bool(f.get("inline")),
            }
            for f in embed.get("fields") or []
        ]
        return cls(values=values, rows=rows, version=version)

    @classmethod
    def from_form(cls, form: FormData) -> EmbedForm:
        values = {}
        for key in TEXTS:
            raw = form.get(key, "")
            values[key] = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
        names = [str(v) for v in form.getlist("field_name")]
        texts = [str(v) for v in form.getlist("field_value")]
        inline = [str(v) for v in form.getlist("field_inline")]
        rows: list[dict[str, Any]] = [
            {
                "name": name,
                "value": texts[i].replace("\r\n", "\n") if i < len(texts) else "",
                "inline": i < len(inline) and inline[i] == "yes",
            }
            for i, name in enumerate(names)
        ]
        # An untouched spare row (the page always offers one) is no field.
        rows = [r for r in rows if r["name"].strip() or r["value"].strip()]
        raw_version = form.get("version", "")
        version = int(raw_version) if isinstance(raw_version, str) and raw_version.isdigit() else 0
        return cls(values=values, rows=rows, version=version)

    def embed(self) -> dict[str, Any]:
        """Discord's JSON for what the form says (empty inputs left out)."""
        v = {k: s.strip() if k not in ("description",) else s for k, s in self.values.items()}
        embed: dict[str, Any] = {}
        for key in ("title", "description", "url", "timestamp"):
            if v[key].strip():
                embed[key] = v[key]
        if v["color"]:
            match = _HEX.match(v["color"])
            embed["color"] = int(match.group(1), 16) if match else -1
        author = {k: v[f"author_{k}"] for k in ("name", "url", "icon_url") if v[f"author_{k}"]}
        if author:
            embed["author"] = author
        footer = {k: v[f"footer_{k}"] for k in ("text", "icon_url") if v[f"footer_{k}"]}
        if footer:
            embed["footer"] = footer
        for key in ("thumbnail", "image"):
            if v[f"{key}_url"]:
                embed[key] = {"url": v[f"{key}_url"]}
        if self.rows:
            embed["fields"] = [dict(r) for r in self.rows]
        return embed

    def validated(self) -> EmbedIn | None:
        """The embed when the form is valid; else None with ``errors`` and ``problems`` set."""
        if not self.values["name"].strip():
            self.errors["name"] = "Give the embed a name (for your list; Discord never shows it)."
        elif len(self.values["name"].strip()) > 100:
            self.errors["name"] = "A name is at most 100 characters."
        embed = self.embed()
        if self.values["color"] and embed.get("color") == -1:
            self.errors["color"] = "A colour is # and six hex digits, e.g. #5865f2."
            embed.pop("color")
        self.problems.extend(self.errors.values())
        self.refuse(embed_violations(embed))
        if self.errors or self.problems:
            return None
        try:
            return EmbedIn.model_validate(embed)
        except ValidationError as error:
            self.problems.append(str(error.errors()[0]["msg"]))
            return None

    def refuse(self, violations: Any) -> None:
        for violation in violations:
            path = violation.path.removeprefix("embed.")
            message = violation.message
            self.problems.append(message)
            row = _ROW.match(path)
            if row is not None:
                index, part = int(row.group(1)), row.group(2)
                if index < len(self.rows):
                    self.rows[index].setdefault("errors", {})[part] = message
                continue
            self.errors.setdefault(INPUT_OF.get(path.split("[")[0], "form"), message)

    def refused(self, error: InvalidEmbed) -> None:
        """A refusal from the service (the same rules, in case they ran there)."""
        for v in error.fields.get("violations", []):
            self.refuse([_Said(v["path"], v["message"])])


@dataclass(frozen=True)
class _Said:
    path: str
    message: str
