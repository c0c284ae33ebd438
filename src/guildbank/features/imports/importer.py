"""Writing one validated guild (``schemas.ParsedGuild``) into guildbank, in one unit of work.

What goes where (docs/import.md):

* members: an account each, opened with nothing and then given their balance by an ``import``
  ledger transaction from the guild's mint (``ledger.posting``), so the integrity check holds
  and the supply equals the files' balances; their old running totals, last daily and activity
  are kept on the account. A member who already has an account here is left alone.
* the old transaction log: ``imported_history`` rows, read-only, never ledger entries (the
  opening balances already hold its result: nothing is counted twice).
* shop items, inventories, tasks, claims: rows of the shop and tasks tables, written here in
  bulk (their services create one thing per call, post it to Discord and check a member's
  permissions, none of which fits history); settings go through the guilds and tasks services.

A second run of the same files finds its ``import_runs`` row and changes nothing. Records a
later, changed file still holds are recognised too (an account, an item name, a task's old id,
a log line's id), so they are not created twice either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import GuildbankError, InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.text import single_line
from guildbank.features.guilds.rules import FEATURE_TOGGLES
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.features.imports.errors import ImportConflict
from guildbank.features.imports.events import GuildImported
from guildbank.features.imports.schemas import (
    CONFIG,
    CURRENCY,
    TASKS,
    ConfigIn,
    ParsedGuild,
    TaskIn,
    UserTaskIn,
)
from guildbank.features.tasks.admin import update_settings
from guildbank.features.tasks.queries import read_settings
from guildbank.features.tasks.rules import PLACE_HOLDING_STATUSES
from guildbank.ledger.accounts import lock_mint
from guildbank.ledger.openings import existing_members, open_accounts
from guildbank.platform.models.guilds import Guild, GuildRole
from guildbank.platform.models.imported import ImportedHistory, ImportRecord, ImportRun
from guildbank.platform.models.shop import ShopInventory, ShopItem, ShopItemSales
from guildbank.platform.models.tasks import MemberTask, Task
from guildbank.platform.uow import UnitOfWork

__all__ = ["ImportReport", "Progress", "import_guild"]

# Rows per INSERT (SQLite takes at most 32,766 parameters in one statement).
CHUNK = 500
# The old bot's feature toggles -> guildbank's.
FEATURES = {"currency": "economy", "tasks": "tasks", "shop": "shop"}
CLAIM_STATUSES = {
    "in_progress": "in_progress",
    "claimed": "in_progress",
    "submitted": "submitted",
    "pending_review": "submitted",
    "accepted": "accepted",
    "completed": "accepted",
    "approved": "accepted",
    "rejected": "rejected",
    "expired": "expired",
}
TASK_STATUSES = {"active": "active", "expired": "expired"}  # anything else: archived

# Called with how many records were just written (the CLI's progress bar).
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What one guild's import did, and everything it left out with the reason."""

    guild_id: str
    source: str = ""
    already_imported: bool = False
    imported_at: datetime | None = None
    run_id: int | None = None
    file_bytes: int = 0
    members: int = 0
    members_kept: int = 0
    total: int = 0
    items: int = 0
    inventories: int = 0
    tasks: int = 0
    claims: int = 0
    history: int = 0
    settings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["imported_at"] = self.imported_at.isoformat() if self.imported_at else None
        return values

    @property
    def changed(self) -> bool:
        return not self.already_imported


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _clean(text: str) -> str:
    """A path or file name as stored: one line, valid UTF-8 (a path may be neither)."""
    return single_line(text.encode("utf-8", "replace").decode("utf-8"))


def _noop(_: int) -> None:
    return None


async def import_guild(
    uow: UnitOfWork,
    parsed: ParsedGuild,
    *,
    actor_id: str | None = None,
    progress: Progress = _noop,
) -> ImportReport:
    """Write ``parsed`` in the unit's transaction (the caller commits); a second call with the
    same files returns ``already_imported`` and writes nothing."""
    report = ImportReport(guild_id=parsed.guild_id, source=parsed.source, file_bytes=parsed.size)
    session = uow.session
    previous = (
        await session.execute(
            select(ImportRun.id, ImportRun.created_at).where(
                ImportRun.guild_id == parsed.guild_id,
                ImportRun.source_hash == parsed.source_hash,
            )
        )
    ).first()
    if previous is not None:
        report.already_imported = True
        report.run_id, report.imported_at = previous
        return report
    report.skipped = [skip.text() for skip in parsed.skipped]
    # A new guild takes the old server name; a registered one keeps the name Discord gave it.
    known = await session.get(Guild, parsed.guild_id) is not None
    name = parsed.config.server_name if parsed.config and not known else ""
    await register_guild(uow, guild_id=parsed.guild_id, name=name)
    run = ImportRun(
        guild_id=parsed.guild_id,
        source_hash=parsed.source_hash,
        source=_clean(parsed.source)[:200],
        actor_id=actor_id,
        report={},
        created_at=uow.now,
    )
    session.add(run)
    try:
        await session.flush()
    except IntegrityError:
        raise ImportConflict(parsed.guild_id) from None
    report.run_id = run.id
    await _config(uow, parsed, report)
    await _members(uow, parsed, report, progress)
    item_ids = await _items(uow, parsed, report, progress)
    await _inventories(uow, parsed, report, item_ids)
    await _tasks(uow, parsed, report, progress)
    await _task_settings(uow, parsed, report)
    await _history(uow, parsed, report, run.id, progress)
    run.report = report.as_dict()
    await session.flush()
    uow.emit(
        GuildImported(
            guild_id=parsed.guild_id, run_id=run.id, members=report.members, total=report.total
        )
    )
    return report


# -- settings ---------------------------------------------------------------------------------


def _config_changes(config: ConfigIn, report: ImportReport) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    where = f"{CONFIG}: $"
    if config.unused:
        report.skipped.append(
            f"{where}: {', '.join(config.unused)}: guildbank has no such settings; not imported"
        )
    if config.currency_name:
        changes["currency_name"] = config.currency_name
    if config.currency_symbol:
        changes["currency_emoji"] = config.currency_symbol
    changes.update(_role_changes(config, report))
    for old, new in (
        ("log_channel", "log_channel_id"),
        ("task_channel_id", "task_channel_id"),
        ("shop_channel_id", "shop_channel_id"),
    ):
        if getattr(config, old) is not None:
            changes[new] = getattr(config, old)
    wanted: dict[str, bool] = {}
    for old, on in (config.features or {}).items():
        toggle = FEATURES.get(old, old if old in FEATURE_TOGGLES else None)
        if toggle is None:
            report.skipped.append(f"{where}.features.{old}: no such feature here")
        else:
            wanted[toggle] = on
    if wanted:
        changes["features"] = wanted
    return changes


def _role_changes(config: ConfigIn, report: ImportReport) -> dict[str, list[str]]:
    """Admin and moderator roles: ids are kept, names (the old bot took both) are noted."""
    changes: dict[str, list[str]] = {}
    for old, new in (("admin_roles", "admin_role_ids"), ("moderator_roles", "moderator_role_ids")):
        roles: list[str] = getattr(config, old) or []
        kept = [role for role in roles if is_snowflake(role)]
        report.skipped.extend(
            f"{CONFIG}: $.{old}: {role!r} is not a role id (names are not imported)"
            for role in roles
            if role not in kept
        )
        if kept:
            changes[new] = kept
    return changes


async def _config(uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport) -> None:
    if parsed.config is None:
        return
    changes = _config_changes(parsed.config, report)
    if not changes:
        return
    try:
        await update_config(uow, guild_id=parsed.guild_id, changes=changes, actor_id="import")
        report.settings.extend(sorted(changes))
    except GuildbankError:
        for key, value in sorted(changes.items()):  # one by one: keep what fits
            try:
                await update_config(
                    uow, guild_id=parsed.guild_id, changes={key: value}, actor_id="import"
                )
                report.settings.append(key)
            except GuildbankError as error:
                report.skipped.append(f"{CONFIG}: {key}: {error.message}; setting not imported")


async def _task_settings(uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport) -> None:
    wanted = parsed.task_settings
    if wanted is None:
        return
    current = await read_settings(uow, parsed.guild_id)
    changes = {
        name: value
        for name, value in wanted.model_dump().items()
        if value is not None and getattr(current, name) != value
    }
    if not changes:
        return
    try:
        await update_settings(uow, guild_id=parsed.guild_id, changes=changes)
        report.settings.extend(f"tasks.{name}" for name in sorted(changes))
    except GuildbankError:
        for key, value in sorted(changes.items()):
            try:
                await update_settings(uow, guild_id=parsed.guild_id, changes={key: value})
                report.settings.append(f"tasks.{key}")
            except GuildbankError as error:
                report.skipped.append(
                    f"{TASKS}: $.settings.{key}: {error.message}; setting not imported"
                )


# -- members and their opening balances --------------------------------------------------------


async def _members(
    uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport, progress: Progress
) -> None:
    guild_id = parsed.guild_id
    mint = await lock_mint(uow, guild_id)
    existing = await existing_members(uow, guild_id)
    rows: list[dict[str, Any]] = []
    for user_id, member in parsed.members.items():
        if user_id in existing:
            report.members_kept += 1
            report.skipped.append(
                f"{CURRENCY}: $.users[{user_id!r}]: already has an account here; "
                "its balance is left as it is"
            )
            continue
        rows.append(
            {
                "guild_id": guild_id,
                "user_id": user_id,
                "is_system": False,
                "total_received": member.total_earned,
                "total_sent": member.total_spent,
                "last_daily": member.last_daily.date() if member.last_daily else None,
                "is_active": member.is_active,
                "left_at": None if member.is_active else uow.now,
                "created_at": member.created_at or uow.now,
                "updated_at": uow.now,
            }
        )
    balances = {str(row["user_id"]): parsed.members[row["user_id"]].balance for row in rows}
    opening = sum(balances.values())
    if opening > MAX_AMOUNT:
        raise InvalidInput(
            f"{CURRENCY}: $.users: the balances add up to {opening:,}, beyond the largest "
            f"amount a server may hold ({MAX_AMOUNT:,})",
            code="import_total_too_large",
        )
    report.total = await open_accounts(
        uow, guild_id=guild_id, mint=mint, rows=rows, balances=balances, progress=progress
    )
    report.members = len(rows)


# -- shop --------------------------------------------------------------------------------------


async def _items(
    uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport, progress: Progress
) -> dict[str, int]:
    """Create the items; returns the old item id -> ours (existing items of that name too)."""
    guild_id = parsed.guild_id
    session = uow.session
    found = await session.execute(
        select(ShopItem.name, ShopItem.id).where(ShopItem.guild_id == guild_id)
    )
    by_name = {name.casefold(): item_id for name, item_id in found}  # names: case-insensitive
    mapping: dict[str, int] = {}
    new: list[tuple[str, dict[str, Any]]] = []
    for old_id, item in parsed.items.items():
        if item.name.casefold() in by_name:
            mapping[old_id] = by_name[item.name.casefold()]
            report.skipped.append(
                f"{CURRENCY}: $.shop_items[{old_id!r}]: an item named {item.name!r} exists "
                "already; it is kept as it is"
            )
            continue
        new.append(
            (
                old_id,
                {
                    "guild_id": guild_id,
                    "name": item.name,
                    "description": item.description,
                    "price": item.price,
                    "category": item.category,
                    "stock": item.stock,
                    "is_active": item.is_active,
                    "requirements": [],
                    "purchase_actions": [],
                    "use_actions": [],
                    "created_at": item.created_at or uow.now,
                    "updated_at": uow.now,
                },
            )
        )
    if new:
        created = (
            await session.scalars(
                insert(ShopItem).returning(ShopItem.id, sort_by_parameter_order=True),
                [row for _, row in new],
            )
        ).all()
        sold = []
        for (old_id, _), item_id in zip(new, created, strict=True):
            mapping[old_id] = item_id
            # The seed's sales count: the item's sales so far (shard 0 of ShopItemSales).
            if sales := parsed.items[old_id].metadata.sales_count:
                sold.append({"item_id": item_id, "shard": 0, "guild_id": guild_id, "sold": sales})
        if sold:
            await session.execute(insert(ShopItemSales), sold)
    report.items = len(new)
    progress(len(parsed.items))
    return mapping


async def _inventories(
    uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport, item_ids: dict[str, int]
) -> None:
    guild_id = parsed.guild_id
    session = uow.session
    rows_held = await session.execute(
        select(ShopInventory.user_id, ShopInventory.item_id).where(
            ShopInventory.guild_id == guild_id
        )
    )
    held = {(user_id, item_id) for user_id, item_id in rows_held}
    rows: list[dict[str, Any]] = []
    for user_id, items in parsed.inventory.items():
        for old_id, quantity in items.items():
            item_id = item_ids[old_id]
            if (user_id, item_id) in held:
                report.skipped.append(
                    f"{CURRENCY}: $.inventory[{user_id!r}][{old_id!r}]: the member holds this "
                    "item here already; kept as it is"
                )
                continue
            rows.append(
                {
                    "guild_id": guild_id,
                    "user_id": user_id,
                    "item_id": item_id,
                    "quantity": quantity,
                    "updated_at": uow.now,
                }
            )
    for chunk in _chunks(rows):
        await session.execute(insert(ShopInventory), chunk)
    report.inventories = len(rows)


# -- tasks -------------------------------------------------------------------------------------


async def _role_ids(uow: UnitOfWork, guild_id: str) -> dict[str, str]:
    rows = (
        await uow.session.execute(
            select(GuildRole.name, GuildRole.id).where(
                GuildRole.guild_id == guild_id, GuildRole.deleted_at.is_(None)
            )
        )
    ).all()
    return dict(rows)


def _task_row(
    uow: UnitOfWork, guild_id: str, task: TaskIn, role_id: str | None, claims: int
) -> dict[str, Any]:
    created = task.created or uow.now
    return {
        "guild_id": guild_id,
        "name": task.name,
        "description": task.description,
        "reward": task.reward,
        "duration_hours": task.duration_hours,
        "status": TASK_STATUSES.get(task.status, "archived"),
        "channel_id": task.channel_id,
        "max_claims": task.max_claims,
        "current_claims": claims,
        "category": task.category or None,
        "role_id": role_id,
        "created_by": None,
        "version": 1,
        "created_at": created,
        "updated_at": uow.now,
        "expires_at": task.expires_at or created + timedelta(hours=task.duration_hours),
    }


def _claims_of(
    parsed: ParsedGuild, report: ImportReport
) -> dict[str, list[tuple[str, str, UserTaskIn]]]:
    """The claims by old task id: (member, our status, claim); unknown statuses skipped."""
    claims: dict[str, list[tuple[str, str, UserTaskIn]]] = {}
    for user_id, by_task in parsed.user_tasks.items():
        for old_id, claim in by_task.items():
            status = CLAIM_STATUSES.get(claim.status)
            if status is None:
                report.skipped.append(
                    f"{TASKS}: $.user_tasks[{user_id!r}][{old_id!r}].status: unknown status "
                    f"{claim.status!r}"
                )
                continue
            claims.setdefault(old_id, []).append((user_id, status, claim))
    return claims


async def _tasks(
    uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport, progress: Progress
) -> dict[str, int]:
    guild_id = parsed.guild_id
    session = uow.session
    known = dict(
        (
            await session.execute(
                select(ImportRecord.source_key, ImportRecord.target_id).where(
                    ImportRecord.guild_id == guild_id, ImportRecord.kind == "task"
                )
            )
        ).all()
    )
    roles = (
        await _role_ids(uow, guild_id) if any(t.role_name for t in parsed.tasks.values()) else {}
    )
    claims = _claims_of(parsed, report)
    new: list[tuple[str, dict[str, Any]]] = []
    for old_id, task in parsed.tasks.items():
        where = f"{TASKS}: $.tasks[{old_id!r}]"
        if old_id in known:
            report.skipped.append(f"{where}: imported before (task {known[old_id]}); kept as it is")
            continue
        role_id = roles.get(task.role_name) if task.role_name else None
        if task.role_name and role_id is None:
            report.skipped.append(
                f"{where}.role_name: no role named {task.role_name!r} is known here; the task "
                "is imported without its role"
            )
        holding = sum(
            1 for _, status, _ in claims.get(old_id, ()) if status in PLACE_HOLDING_STATUSES
        )
        new.append((old_id, _task_row(uow, guild_id, task, role_id, holding)))
    mapping: dict[str, int] = {}
    if new:
        created = (
            await session.scalars(
                insert(Task).returning(Task.id, sort_by_parameter_order=True),
                [row for _, row in new],
            )
        ).all()
        mapping = {old_id: task_id for (old_id, _), task_id in zip(new, created, strict=True)}
        await session.execute(
            insert(ImportRecord),
            [
                {"guild_id": guild_id, "kind": "task", "source_key": old_id, "target_id": task_id}
                for old_id, task_id in mapping.items()
            ],
        )
    report.tasks = len(mapping)
    rows: list[dict[str, Any]] = []
    for old_id, task_claims in claims.items():
        task_id = mapping.get(old_id)
        if task_id is None:
            continue  # the task was imported before, with its claims
        task = parsed.tasks[old_id]
        for user_id, status, claim in task_claims:
            claimed = claim.claimed_at or task.created or uow.now
            rows.append(
                {
                    "guild_id": guild_id,
                    "task_id": task_id,
                    "user_id": user_id,
                    "status": status,
                    "claimed_at": claimed,
                    "deadline": claim.deadline or claimed + timedelta(hours=task.duration_hours),
                    "proof_text": claim.proof_content or None,
                    "proof_urls": list(claim.proof_attachments),
                    "submitted_at": claim.submitted_at,
                    "reviewed_at": claim.completed_at if status == "accepted" else None,
                    "completed_at": claim.completed_at if status == "accepted" else None,
                }
            )
    for chunk in _chunks(rows):
        await session.execute(insert(MemberTask), chunk)
    report.claims = len(rows)
    progress(len(parsed.tasks) + sum(len(c) for c in parsed.user_tasks.values()))
    return mapping


# -- the old transaction log -------------------------------------------------------------------


async def _history(
    uow: UnitOfWork, parsed: ParsedGuild, report: ImportReport, run_id: int, progress: Progress
) -> None:
    guild_id = parsed.guild_id
    session = uow.session
    seen = set(
        (
            await session.execute(
                select(ImportedHistory.source_id).where(ImportedHistory.guild_id == guild_id)
            )
        ).scalars()
    )
    rows: list[dict[str, Any]] = []
    for source_id, line in parsed.history:
        if source_id in seen:
            continue  # imported by an earlier run (of an older copy of the file)
        rows.append(
            {
                "guild_id": guild_id,
                "run_id": run_id,
                "source_id": source_id,
                "user_id": line.user_id,
                "amount": line.amount,
                "balance_before": line.balance_before,
                "balance_after": line.balance_after,
                "type": line.type or "unknown",
                "description": line.description,
                "occurred_at": line.timestamp,
                "details": line.metadata,
            }
        )
    if len(rows) < len(parsed.history):
        report.skipped.append(
            f"transactions.json: {len(parsed.history) - len(rows)} lines were imported before; "
            "not repeated"
        )
    for chunk in _chunks(rows):
        await session.execute(insert(ImportedHistory), chunk)
        progress(len(chunk))
    report.history = len(rows)
