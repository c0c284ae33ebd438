"""What a guild export holds: its tables in load order, and the ids each row refers to.

A guild's rows are exported with their own ids; loading gives every row a new id (the
target database may hold other guilds) and rewrites each reference through ``refs`` (a
column holding another table's id), the item ids inside shop requirements and actions, and
the ids inside the outbox's message keys (``shop.item:12``). A reference to a row the export
does not hold (a transaction moved to the archive) becomes NULL where the column allows it.

Every table of the schema is either exported or listed in ``NOT_EXPORTED`` with the reason:
a test holds that line, so a new table is a decision, not an omission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "FORMAT",
    "IMPORT_RECORD_TABLES",
    "LEDGER",
    "NOT_EXPORTED",
    "OUTBOX_KEY_TABLES",
    "TABLES",
    "VERSION",
    "TableSpec",
]

FORMAT = "guildbank.guild-export"
# Version 2 (migration 0020): an item's sales in ``shop_item_sales``, not ``shop_items``.
# Version 1 files still load (``load.parse_export`` converts them).
VERSION = 2
# The ledger's transactions, each with its entries (``entries``), in posting order.
LEDGER = "ledger_transactions"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported table: ``new_ids`` when loading gives its rows new ids (an ``id``
    column), ``refs`` the columns holding ids of other exported tables."""

    name: str
    new_ids: bool = True
    refs: Mapping[str, str] = field(default_factory=dict)


# In load order: a table comes after every table it refers to.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("guilds", new_ids=False),
    TableSpec("guild_settings", new_ids=False),
    TableSpec("guild_channels", new_ids=False),
    TableSpec("guild_roles", new_ids=False),
    TableSpec("accounts"),
    TableSpec(LEDGER, refs={"reverses_id": LEDGER}),
    TableSpec("squads"),
    TableSpec("squad_memberships", refs={"squad_id": "squads"}),
    TableSpec("shop_items"),
    TableSpec("shop_item_sales", new_ids=False, refs={"item_id": "shop_items"}),
    TableSpec("shop_inventories", refs={"item_id": "shop_items"}),
    TableSpec(
        "shop_purchases",
        refs={"item_id": "shop_items", "transaction_id": LEDGER, "refund_transaction_id": LEDGER},
    ),
    TableSpec("tasks"),
    TableSpec("member_tasks", refs={"task_id": "tasks", "transaction_id": LEDGER}),
    TableSpec("task_settings", new_ids=False),
    TableSpec("embed_templates"),
    TableSpec("announcements", refs={"task_id": "tasks"}),
    TableSpec("custom_commands", refs={"embed_id": "embed_templates"}),
    TableSpec("custom_command_sets", new_ids=False),
    TableSpec("outbox_messages", new_ids=False),
    TableSpec("import_runs"),
    TableSpec("imported_history", refs={"run_id": "import_runs"}),
    # ``target_id`` names a row of the table its ``kind`` says (IMPORT_RECORD_TABLES).
    TableSpec("import_records"),
)

# What an import record's ``target_id`` names, by its ``kind`` (features/imports).
IMPORT_RECORD_TABLES = {"task": "tasks"}

# The outbox's message keys that carry a row id (``shop.item:12``), by prefix.
OUTBOX_KEY_TABLES = {
    "shop.item": "shop_items",
    "task": "tasks",
    "task.proof": "member_tasks",
    "announcement": "announcements",
    "embed": "embed_templates",
}

NOT_EXPORTED = {
    "ledger_entries": "exported inside their transactions (ledger_transactions[].entries)",
    "api_keys": "secrets, and operator-wide: make new keys on the new installation",
    "idempotency_records": "replays of old requests, purged after a day anyway",
    "event_log": "events already delivered to live listeners; not state",
    "event_relay": "the relay's position in this database's event log",
    "outbox_jobs": "Discord side effects pending in the old installation",
    "operator_settings": "operator-wide, not the guild's",
    "scheduler_leases": "which process runs a periodic job right now",
    "alembic_version": "the schema's revision, written by migrations",
    "ledger_checkpoints": "an account's archived history is its opening balance in the export",
    "ledger_archives": "the archive files stay with the old installation (their sums are the "
    "opening balances)",
}
