"""Embed limits at the boundary and one past it, every violation named; command names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guildbank.features.announcements.rules import (
    BUILT_IN_COMMANDS,
    EMBED_LIMITS,
    command_name_problem,
    embed_length,
    embed_violations,
)


def codes(embed: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v.path, v.code) for v in embed_violations(embed)}


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("title", 256),
        ("description", 4096),
        ("footer.text", 2048),
        ("author.name", 256),
    ],
)
def test_text_limits_at_the_boundary_and_one_past(path: str, limit: int) -> None:
    def embed(n: int) -> dict[str, Any]:
        if "." in path:
            holder, key = path.split(".")
            return {"title": "t", holder: {key: "x" * n}} if path != "title" else {}
        return {path: "x" * n}

    assert EMBED_LIMITS[path] == limit
    assert embed_violations(embed(limit)) == []
    assert codes(embed(limit + 1)) == {(path, "too_long")}


@pytest.mark.parametrize(("part", "limit"), [("name", 256), ("value", 1024)])
def test_field_limits(part: str, limit: int) -> None:
    field = {"name": "n", "value": "v"}
    assert embed_violations({"fields": [{**field, part: "x" * limit}]}) == []
    assert codes({"fields": [field, {**field, part: "x" * (limit + 1)}]}) == {
        (f"fields[1].{part}", "too_long")
    }


def test_at_most_25_fields() -> None:
    field = {"name": "n", "value": "v"}
    assert embed_violations({"fields": [field] * 25}) == []
    assert codes({"fields": [field] * 26}) == {("fields", "too_many_fields")}


def test_total_of_6000_characters() -> None:
    # 4096 + 256 + 1648 = 6000 exactly; one more character is one too many.
    at = {"description": "d" * 4096, "title": "t" * 256, "footer": {"text": "f" * 1648}}
    assert embed_length(at) == 6000
    assert embed_violations(at) == []
    past = {**at, "footer": {"text": "f" * 1649}}
    assert codes(past) == {("embed", "embed_too_long")}


@pytest.mark.parametrize(
    ("color", "ok"), [(0, True), (0xFFFFFF, True), (0x1000000, False), (-1, False), (True, False)]
)
def test_colour_range(color: Any, ok: bool) -> None:
    problems = codes({"title": "t", "color": color})
    assert (problems == set()) is ok
    if not ok:
        assert problems == {("color", "invalid_color")}


@pytest.mark.parametrize(
    "path",
    ["url", "image.url", "thumbnail.url", "author.icon_url", "author.url", "footer.icon_url"],
)
def test_urls_must_be_http(path: str) -> None:
    def embed(url: str) -> dict[str, Any]:
        base: dict[str, Any] = {"title": "t", "author": {"name": "a"}, "footer": {"text": "f"}}
        if "." in path:
            holder, key = path.split(".")
            base[holder] = {**base.get(holder, {}), key: url}
        else:
            base[path] = url
        return base

    assert embed_violations(embed("https://example.com/a.png")) == []
    assert embed_violations(embed("http://example.com/a.png")) == []
    for bad in ("ftp://example.com/a.png", "javascript:alert(1)", "example.com", "https://"):
        assert codes(embed(bad)) == {(path, "invalid_url")}, bad


def test_timestamp_must_be_iso() -> None:
    assert embed_violations({"title": "t", "timestamp": "2026-12-02T10:00:00Z"}) == []
    assert codes({"title": "t", "timestamp": "yesterday"}) == {("timestamp", "invalid_timestamp")}


def test_every_violation_is_named_at_once() -> None:
    embed = {
        "title": "x" * 257,
        "color": 0x1000000,
        "image": {"url": "nope"},
        "fields": [{"name": "", "value": "v" * 1025}],
        "footer": {"icon_url": "https://x.io/i.png"},
    }
    assert codes(embed) == {
        ("title", "too_long"),
        ("color", "invalid_color"),
        ("image.url", "invalid_url"),
        ("fields[0].name", "required"),
        ("fields[0].value", "too_long"),
        ("footer.text", "required"),
    }


def test_an_empty_embed_is_refused() -> None:
    assert codes({}) == {("embed", "empty_embed")}
    assert codes({"color": 5}) == {("embed", "empty_embed")}


texts = st.text(alphabet="ab ", max_size=300)


@given(
    title=st.integers(0, 300),
    description=st.integers(0, 4200),
    fields=st.lists(st.tuples(st.integers(1, 300), st.integers(1, 1100)), max_size=27),
    footer=st.integers(0, 2100),
)
def test_valid_exactly_when_every_limit_holds(
    title: int, description: int, fields: list[tuple[int, int]], footer: int
) -> None:
    embed: dict[str, Any] = {"title": "t" * title, "description": "d" * description}
    if fields:
        embed["fields"] = [{"name": "n" * n, "value": "v" * v} for n, v in fields]
    if footer:
        embed["footer"] = {"text": "f" * footer}
    total = title + description + footer + sum(n + v for n, v in fields)
    within = (
        title <= 256
        and description <= 4096
        and footer <= 2048
        and len(fields) <= 25
        and all(n <= 256 and v <= 1024 for n, v in fields)
        and total <= 6000
    )
    shows = bool(title or description or fields or footer)
    assert (embed_violations(embed) == []) is (within and shows)
    assert any(v.code == "embed_too_long" for v in embed_violations(embed)) is (total > 6000)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a", None),
        ("x" * 32, None),
        ("hello-world_2", None),
        ("héllo", None),
        ("", "1 to 32"),
        ("x" * 33, "1 to 32"),
        ("Hello", "lowercase"),
        ("two words", "letters, digits"),
        ("bang!", "letters, digits"),
        ("daily", "bot's own"),
    ],
)
def test_command_names(name: str, problem: str | None) -> None:
    said = command_name_problem(name)
    if problem is None:
        assert said is None
    else:
        assert said is not None
        assert problem in said


async def test_built_in_names_cover_every_command_the_bot_registers() -> None:
    import hikari  # noqa: PLC0415
    import lightbulb  # noqa: PLC0415

    from guildbank.runtime.registry import FEATURES  # noqa: PLC0415

    names: set[str] = set()
    for feature in FEATURES:
        for loader in feature.command_loaders():
            for loadable in loader._loadables:
                command = getattr(loadable, "_command", None)
                if isinstance(command, lightbulb.Group):
                    names.add(command.name)
                elif command is not None and command._command_data.type == hikari.CommandType.SLASH:
                    names.add(command._command_data.name)
    assert names, "no command found: the test reads lightbulb's loader wrongly"
    assert names <= BUILT_IN_COMMANDS, names - BUILT_IN_COMMANDS
