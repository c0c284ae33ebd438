"""The seed bot's files (seed 002 layout) as validated records, and what the API shows.

Every record is checked by a pydantic model before anything is written, with the project's
own text and amount rules (``core.schemas``): PostgreSQL refuses what SQLite would store (a
NUL character, an integer beyond 64 bits, a string longer than its column), so both backends
see only values they both store. A file that is no JSON, or whose sections have the wrong
shape, refuses the whole import (``ImportFileError``: file and JSON path); a single bad
record is skipped, with the file, its JSON path and the reason in the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import MULTI_LINE, SINGLE_LINE, WHOLE, Out
from guildbank.core.text import forbidden_character
from guildbank.features.guilds.rules import (
    MAX_CURRENCY_EMOJI_LENGTH,
    MAX_CURRENCY_NAME_LENGTH,
    MAX_GUILD_NAME_LENGTH,
)
from guildbank.features.imports.errors import ImportFileError
from guildbank.features.shop.rules import MAX_STOCK
from guildbank.features.tasks.rules import (
    MAX_ATTACHMENTS,
    MAX_CLAIMS,
    MAX_DURATION_HOURS,
    MAX_PROOF_LENGTH,
    MAX_TASKS_PER_USER,
    MAX_URL_LENGTH,
)

__all__ = [
    "FILES",
    "ConfigIn",
    "HistoryIn",
    "HistoryOut",
    "ImportRunOut",
    "ItemIn",
    "MemberIn",
    "ParsedGuild",
    "Skip",
    "TaskIn",
    "TaskSettingsIn",
    "UserTaskIn",
    "parse_guild",
]

CURRENCY, TASKS, CONFIG, TRANSACTIONS = (
    "currency.json",
    "tasks.json",
    "config.json",
    "transactions.json",
)
FILES = (CURRENCY, TASKS, CONFIG, TRANSACTIONS)
# The longest old-log id kept (a longer one is replaced by a digest of the line).
MAX_SOURCE_ID = 100
MAX_HISTORY_TYPE = 32
MAX_HISTORY_DESCRIPTION = 500
MAX_METADATA_CHARS = 2000

# config.json keys that describe the server rather than set anything (not reported unused).
CONFIG_FACTS = frozenset({"member_count", "icon_url", "owner_id", "created_at", "unused"})

M = TypeVar("M", bound=BaseModel)


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


def _id_text(value: Any) -> Any:
    """An id the old bot wrote as a JSON number: as the digits it spells."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _naive_is_utc(value: datetime | None) -> datetime | None:
    """The old bot wrote naive UTC timestamps as often as aware ones."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _money(low: int) -> Any:
    return Annotated[int, Field(ge=low, le=MAX_AMOUNT, strict=True), WHOLE]


def _line(max_length: int, *, min_length: int = 0) -> Any:
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length, strip_whitespace=True),
        SINGLE_LINE,
        BeforeValidator(_none_as_empty),
    ]


def _lines(max_length: int) -> Any:
    return Annotated[
        str, StringConstraints(max_length=max_length), MULTI_LINE, BeforeValidator(_none_as_empty)
    ]


def _check_snowflake(value: str) -> str:
    if not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


_Id = Annotated[str, StringConstraints(max_length=20), AfterValidator(_check_snowflake)]
OptionalId = Annotated[_Id | None, BeforeValidator(lambda v: _empty_as_none(_id_text(v)))]
Stamp = Annotated[datetime | None, BeforeValidator(_empty_as_none)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return _naive_is_utc(value) if isinstance(value, datetime) else value


class MemberIn(_In):
    """A member of ``currency.json``'s ``users``."""

    balance: _money(0) = 0  # type: ignore[valid-type]
    total_earned: _money(0) = 0  # type: ignore[valid-type]
    total_spent: _money(0) = 0  # type: ignore[valid-type]
    created_at: Stamp = None
    last_daily: Stamp = None
    is_active: Annotated[bool, Field(strict=True)] = True


class ItemMeta(_In):
    sales_count: Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), WHOLE] = 0


class ItemIn(_In):
    """An item of ``currency.json``'s ``shop_items``."""

    name: _line(100, min_length=1)  # type: ignore[valid-type]
    description: _lines(1000) = ""  # type: ignore[valid-type]
    price: _money(0)  # type: ignore[valid-type]
    category: _line(50) = ""  # type: ignore[valid-type]
    stock: Annotated[int, Field(ge=-1, le=MAX_STOCK, strict=True), WHOLE] = -1
    is_active: Annotated[bool, Field(strict=True)] = True
    created_at: Stamp = None
    metadata: Annotated[ItemMeta, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=ItemMeta
    )


class TaskIn(_In):
    """A task of ``tasks.json``'s ``tasks``."""

    name: _line(100, min_length=1)  # type: ignore[valid-type]
    description: _lines(2000) = ""  # type: ignore[valid-type]
    reward: _money(0)  # type: ignore[valid-type]
    duration_hours: Annotated[int, Field(ge=1, le=MAX_DURATION_HOURS, strict=True), WHOLE] = 24
    status: _line(32) = "active"  # type: ignore[valid-type]
    created: Stamp = None
    expires_at: Stamp = None
    channel_id: OptionalId = None
    max_claims: Annotated[int, Field(ge=-1, le=MAX_CLAIMS, strict=True), WHOLE] = -1
    category: _line(50) = ""  # type: ignore[valid-type]
    role_name: _line(100) = ""  # type: ignore[valid-type]

    @field_validator("max_claims")
    @classmethod
    def _claims(cls, value: int) -> int:
        if value == 0:
            msg = "max_claims must be -1 (unlimited) or at least 1"
            raise ValueError(msg)
        return value


class UserTaskIn(_In):
    """A member's claim in ``tasks.json``'s ``user_tasks``."""

    claimed_at: Stamp = None
    deadline: Stamp = None
    status: _line(32) = "in_progress"  # type: ignore[valid-type]
    proof_content: _lines(MAX_PROOF_LENGTH) = ""  # type: ignore[valid-type]
    proof_attachments: Annotated[
        list[Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), SINGLE_LINE]],
        BeforeValidator(lambda v: [] if v is None else v),
        Field(max_length=MAX_ATTACHMENTS),
    ] = Field(default_factory=list)
    submitted_at: Stamp = None
    completed_at: Stamp = None


class TaskSettingsIn(_In):
    """``tasks.json``'s ``settings``."""

    allow_user_tasks: Annotated[bool, Field(strict=True)] | None = None
    max_tasks_per_user: (
        Annotated[int, Field(ge=1, le=MAX_TASKS_PER_USER, strict=True), WHOLE] | None
    ) = None
    auto_expire_enabled: Annotated[bool, Field(strict=True)] | None = None
    require_proof: Annotated[bool, Field(strict=True)] | None = None
    announcement_channel_id: OptionalId = None


RoleIds = Annotated[
    list[Annotated[str, BeforeValidator(_id_text), StringConstraints(max_length=20)]],
    BeforeValidator(lambda v: [] if v is None else v),
    Field(max_length=100),
]


class ConfigIn(_In):
    """``config.json``: the settings guildbank has a place for (the rest is noted, unused)."""

    server_name: _line(MAX_GUILD_NAME_LENGTH) = ""  # type: ignore[valid-type]
    currency_name: _line(MAX_CURRENCY_NAME_LENGTH) | None = None  # type: ignore[valid-type]
    currency_symbol: _line(MAX_CURRENCY_EMOJI_LENGTH) | None = None  # type: ignore[valid-type]
    admin_roles: RoleIds | None = None
    moderator_roles: RoleIds | None = None
    log_channel: OptionalId = None
    task_channel_id: OptionalId = None
    shop_channel_id: OptionalId = None
    features: dict[str, Annotated[bool, Field(strict=True)]] | None = None
    # The file's settings guildbank has no place for (set by ``parse_guild``).
    unused: tuple[str, ...] = ()


def _metadata(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = "metadata must be an object"
        raise ValueError(msg)
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_METADATA_CHARS:
        msg = f"metadata is longer than {MAX_METADATA_CHARS} characters"
        raise ValueError(msg)
    if "\\u0000" in text:  # json.dumps escapes NUL
        msg = "metadata holds a NUL character"
        raise ValueError(msg)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = "metadata holds a lone surrogate (not UTF-8)"
        raise ValueError(msg) from None
    return value


class HistoryIn(_In):
    """A line of ``transactions.json``."""

    id: Annotated[str | None, BeforeValidator(_id_text)] = None
    user_id: Annotated[
        str,
        BeforeValidator(_id_text),
        StringConstraints(max_length=20),
        AfterValidator(_check_snowflake),
    ]
    amount: Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True), WHOLE]
    balance_before: (
        Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True), WHOLE] | None
    ) = None
    balance_after: (
        Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True), WHOLE] | None
    ) = None
    type: _line(MAX_HISTORY_TYPE) = "unknown"  # type: ignore[valid-type]
    description: _lines(MAX_HISTORY_DESCRIPTION) = ""  # type: ignore[valid-type]
    timestamp: Stamp = None
    metadata: Annotated[dict[str, Any], BeforeValidator(_metadata)] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        if value is not None and forbidden_character(value) is not None:
            msg = "the id holds a control character"
            raise ValueError(msg)
        return value


@dataclass(frozen=True, slots=True)
class Skip:
    """A record left out, where it is and why."""

    where: str
    reason: str

    def text(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ParsedGuild:
    """One guild's files, validated: what will be imported and what was left out."""

    guild_id: str
    source: str
    source_hash: str
    size: int
    members: dict[str, MemberIn] = field(default_factory=dict)
    inventory: dict[str, dict[str, int]] = field(default_factory=dict)
    items: dict[str, ItemIn] = field(default_factory=dict)
    tasks: dict[str, TaskIn] = field(default_factory=dict)
    user_tasks: dict[str, dict[str, UserTaskIn]] = field(default_factory=dict)
    task_settings: TaskSettingsIn | None = None
    config: ConfigIn | None = None
    history: list[tuple[str, HistoryIn]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append(Skip(where, reason))


def _key(name: str) -> str:
    """A key as a JSON path shows it (escaped: a key may hold anything)."""
    return f"[{json.dumps(name)}]"


def _bad_key(key: str) -> str | None:
    """Why an object key cannot be an old id kept here (item and task ids), else None."""
    if len(key) > MAX_SOURCE_ID:
        return f"the id is longer than {MAX_SOURCE_ID} characters"
    if forbidden_character(key) is not None:
        return "the id holds a control character"
    return None


def _reason(error: ValidationError) -> tuple[str, str]:
    """The first problem of a validation error: (JSON path below the record, message)."""
    first = error.errors()[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first.get("input") is not None and first["type"] in {"int_type", "bool_type", "string_type"}:
        shown = repr(first["input"])
        message += f" (got {shown[:40]}{'…' if len(shown) > 40 else ''})"
    return path, message


def _validated(parsed: ParsedGuild, model: type[M], value: Any, where: str) -> M | None:
    """``value`` as ``model``, or None with the record skipped (the reason names the path)."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        path, message = _reason(error)
        parsed.skip(where + path, message)
        return None


def _lenient(parsed: ParsedGuild, model: type[M], value: Mapping[str, Any], where: str) -> M:
    """``value`` as ``model``, leaving out (and noting) each field that does not validate."""
    kept = dict(value)
    for _ in range(len(kept) + 1):
        try:
            return model.model_validate(kept)
        except ValidationError as error:
            first = error.errors()[0]
            path, message = _reason(error)
            name = first["loc"][0] if first["loc"] else None
            if not isinstance(name, str) or name not in kept:
                break
            parsed.skip(where + path, f"{message}; setting not imported")
            del kept[name]
    return model.model_validate({})


def _refuse(file: str, path: str, message: str) -> ImportFileError:
    return ImportFileError(file=file, path=path, message=message)


def _no_constant(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def load_json(file: str, raw: bytes) -> Any:
    """A file's JSON, or ImportFileError saying where it breaks."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refuse(file, "$", f"not UTF-8 text (byte {error.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise _refuse(
            file, "$", f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise _refuse(file, "$", f"not valid JSON: {error}") from None


def _section(file: str, document: Any, name: str, kind: type) -> Any:
    """``document[name]`` when it has the wanted JSON type (absent: an empty one)."""
    value = document.get(name)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        wanted = "an object" if kind is dict else "a list"
        raise _refuse(file, f"$.{name}", f"must be {wanted}, not {type(value).__name__}")
    return value


def _object(file: str, document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _refuse(file, "$", f"must be a JSON object, not {type(document).__name__}")
    return document


def _members(parsed: ParsedGuild, document: dict[str, Any]) -> None:
    users = _section(CURRENCY, document, "users", dict)
    for user_id, value in users.items():
        where = f"{CURRENCY}: $.users{_key(user_id)}"
        if not is_snowflake(user_id):
            parsed.skip(where, "the key is not a Discord user id")
            continue
        if not isinstance(value, dict):
            parsed.skip(where, "must be an object")
            continue
        member = _validated(parsed, MemberIn, value, where)
        if member is not None:
            parsed.members[user_id] = member


def _items(parsed: ParsedGuild, document: dict[str, Any]) -> None:
    names: set[str] = set()
    for item_id, value in _section(CURRENCY, document, "shop_items", dict).items():
        where = f"{CURRENCY}: $.shop_items{_key(item_id)}"
        if (problem := _bad_key(item_id)) is not None:
            parsed.skip(where, problem)
            continue
        if not isinstance(value, dict):
            parsed.skip(where, "must be an object")
            continue
        item = _validated(parsed, ItemIn, value, where)
        if item is None:
            continue
        if item.name.casefold() in names:
            parsed.skip(where, f"a second item named {item.name!r} (names are unique here)")
            continue
        names.add(item.name.casefold())
        parsed.items[item_id] = item


def _inventory(parsed: ParsedGuild, document: dict[str, Any]) -> None:
    for user_id, held in _section(CURRENCY, document, "inventory", dict).items():
        where = f"{CURRENCY}: $.inventory{_key(user_id)}"
        if not is_snowflake(user_id):
            parsed.skip(where, "the key is not a Discord user id")
            continue
        if not isinstance(held, dict):
            parsed.skip(where, "must be an object of item id -> quantity")
            continue
        for item_id, quantity in held.items():
            spot = f"{where}{_key(item_id)}"
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                parsed.skip(spot, "the quantity must be a whole number")
            elif not 0 <= quantity <= MAX_STOCK:
                parsed.skip(spot, f"the quantity must be between 0 and {MAX_STOCK}")
            elif item_id not in parsed.items:
                parsed.skip(spot, "no imported shop item has this id")
            elif quantity > 0:
                parsed.inventory.setdefault(user_id, {})[item_id] = quantity


def _tasks(parsed: ParsedGuild, document: dict[str, Any]) -> None:
    for task_id, value in _section(TASKS, document, "tasks", dict).items():
        where = f"{TASKS}: $.tasks{_key(task_id)}"
        if (problem := _bad_key(task_id)) is not None:
            parsed.skip(where, problem)
            continue
        if not isinstance(value, dict):
            parsed.skip(where, "must be an object")
            continue
        task = _validated(parsed, TaskIn, value, where)
        if task is not None:
            parsed.tasks[task_id] = task
    for user_id, claims in _section(TASKS, document, "user_tasks", dict).items():
        where = f"{TASKS}: $.user_tasks{_key(user_id)}"
        if not is_snowflake(user_id):
            parsed.skip(where, "the key is not a Discord user id")
            continue
        if not isinstance(claims, dict):
            parsed.skip(where, "must be an object of task id -> claim")
            continue
        for task_id, value in claims.items():
            spot = f"{where}{_key(task_id)}"
            if task_id not in parsed.tasks:
                parsed.skip(spot, "no imported task has this id")
                continue
            if not isinstance(value, dict):
                parsed.skip(spot, "must be an object")
                continue
            claim = _validated(parsed, UserTaskIn, value, spot)
            if claim is not None:
                parsed.user_tasks.setdefault(user_id, {})[task_id] = claim
    settings = _section(TASKS, document, "settings", dict)
    if settings:
        parsed.task_settings = _lenient(parsed, TaskSettingsIn, settings, f"{TASKS}: $.settings")


def _history(parsed: ParsedGuild, document: Any) -> None:
    if isinstance(document, dict) and isinstance(document.get("transactions"), list):
        lines, prefix = document["transactions"], "$.transactions"
    elif isinstance(document, list):
        lines, prefix = document, "$"
    else:
        raise _refuse(TRANSACTIONS, "$", "must be a JSON list of transactions")
    seen: set[str] = set()
    for index, value in enumerate(lines):
        where = f"{TRANSACTIONS}: {prefix}[{index}]"
        if not isinstance(value, dict):
            parsed.skip(where, "must be an object")
            continue
        line = _validated(parsed, HistoryIn, value, where)
        if line is None:
            continue
        source_id = line.id
        if not source_id or len(source_id) > MAX_SOURCE_ID:
            digest = _digest(json.dumps(value, sort_keys=True, default=str).encode())
            source_id = f"sha256:{digest[:64]}"
        if source_id in seen:
            parsed.skip(where, f"a second line with id {source_id!r}")
            continue
        seen.add(source_id)
        parsed.history.append((source_id, line))


def _digest(raw: bytes) -> str:
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(raw).hexdigest()


def parse_guild(guild_id: str, files: Mapping[str, bytes], *, source: str = "") -> ParsedGuild:
    """Validate one guild's files (``{file name: bytes}``, any of ``FILES``).

    Raises ImportFileError at the first file that cannot be read as the layout says; bad
    records are skipped (``ParsedGuild.skipped``).
    """
    if not is_snowflake(guild_id):
        raise _refuse(guild_id, "$", "the folder name is not a Discord server id")
    known = {name: files[name] for name in FILES if name in files}
    if not known:
        raise _refuse(guild_id, "$", f"none of {', '.join(FILES)} is there")
    hashed = b"".join(
        name.encode() + b"\0" + _digest(raw).encode() + b"\0" for name, raw in known.items()
    )
    parsed = ParsedGuild(
        guild_id=guild_id,
        source=source,
        source_hash=_digest(hashed),
        size=sum(len(raw) for raw in known.values()),
    )
    if CURRENCY in known:
        currency = _object(CURRENCY, load_json(CURRENCY, known[CURRENCY]))
        _members(parsed, currency)
        _items(parsed, currency)
        _inventory(parsed, currency)
    if TASKS in known:
        _tasks(parsed, _object(TASKS, load_json(TASKS, known[TASKS])))
    if CONFIG in known:
        config = _object(CONFIG, load_json(CONFIG, known[CONFIG]))
        unused = tuple(key for key in config if key not in {*ConfigIn.model_fields, *CONFIG_FACTS})
        parsed.config = _lenient(parsed, ConfigIn, config, f"{CONFIG}: $").model_copy(
            update={"unused": unused}
        )
    if TRANSACTIONS in known:
        _history(parsed, load_json(TRANSACTIONS, known[TRANSACTIONS]))
    return parsed


class HistoryOut(Out):
    """A line of the old bot's log, as imported (read-only; not part of the ledger)."""

    id: int
    source_id: str
    user_id: str
    amount: int
    balance_before: int | None
    balance_after: int | None
    type: str
    description: str
    occurred_at: datetime | None
    details: dict[str, Any]


class HistoryPage(Out):
    items: list[HistoryOut]
    total: int
    page: int
    per_page: int


class ImportRunOut(Out):
    id: int
    source: str
    source_hash: str
    actor_id: str | None
    report: dict[str, Any]
    created_at: datetime
