"""A synthetic seed-bot data folder (seed 002 layout: ``DIR/<guild_id>/{currency,tasks,config,
transactions}.json``) with what an import of it must give.

Several guilds, 2,000 members in all, inventories, shop items, tasks with claims, a
10,000-line transaction log, and (in the first guild) malformed records of every kind the
importer must skip: ids that are no ids, negative and oversized amounts, strings where numbers
belong, NUL characters and overlong names (which SQLite would store and PostgreSQL refuses).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["BAD_RECORDS", "CONFIG_NOTES", "GUILDS", "Expected", "write_dataset", "write_guild"]

# Guild id -> (members, log lines): 2,000 members and 10,000 lines in all.
GUILDS: dict[str, tuple[int, int]] = {
    "900000000000000001": (1200, 6000),
    "900000000000000002": (600, 3000),
    "900000000000000003": (200, 1000),
}
# Malformed records written into the first guild (each is skipped with its reason).
BAD_RECORDS = 12
# Every guild's config.json notes: the feature "moderation" and the settings with no place here
# (prefix, welcome_channel).
CONFIG_NOTES = 2
BASE = datetime(2025, 11, 14, 14, 46, 7, tzinfo=UTC)


@dataclass
class Expected:
    """What importing one guild's files must give."""

    guild_id: str
    members: int = 0
    total: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    items: int = 0
    inventories: int = 0
    tasks: int = 0
    claims: int = 0
    history: int = 0
    skipped: int = 0


def _stamp(moment: datetime, rng: random.Random) -> str:
    """Half naive (as the old bot often wrote them), half with a Z."""
    text = moment.replace(tzinfo=None).isoformat()
    return text + "Z" if rng.random() < 0.5 else text


def _user_id(n: int) -> str:
    return str(700000000000000000 + n)


def write_guild(
    root: Path, guild_id: str, members: int, lines: int, *, seed: int, bad: bool
) -> Expected:
    rng = random.Random(seed)
    expected = Expected(guild_id)
    users: dict[str, Any] = {}
    offset = int(guild_id[-1]) * 100_000
    for n in range(members):
        user_id = _user_id(offset + n)
        balance = rng.randint(0, 5_000)
        users[user_id] = {
            "balance": balance,
            "total_earned": balance + rng.randint(0, 500),
            "total_spent": rng.randint(0, 500),
            "created_at": _stamp(BASE - timedelta(days=rng.randint(0, 300)), rng),
            "last_daily": _stamp(BASE - timedelta(hours=rng.randint(0, 100)), rng)
            if rng.random() < 0.7
            else None,
            "is_active": rng.random() < 0.95,
        }
        expected.balances[user_id] = balance
    expected.members = members
    items = {
        str(i): {
            "name": f"🍪 Item {i}",
            "description": f"Item number {i}\nwith two lines",
            "price": rng.randint(0, 1000),
            "category": rng.choice(["consumable", "role", "collectible"]),
            "stock": rng.choice([-1, 0, 5, 100]),
            "is_active": rng.random() < 0.9,
            "channel_id": "1438926554708185138",
            "message_id": "1438959951623225527",
            "created_at": _stamp(BASE, rng),
            "metadata": {"sales_count": rng.randint(0, 50)},
        }
        for i in range(1, 13)
    }
    expected.items = len(items)
    inventory: dict[str, dict[str, int]] = {}
    for user_id in list(users)[: members // 4]:
        held = {str(rng.randint(1, 12)): rng.randint(1, 5) for _ in range(rng.randint(1, 3))}
        inventory[user_id] = held
        expected.inventories += len(held)
    tasks: dict[str, Any] = {}
    user_tasks: dict[str, dict[str, Any]] = {}
    for t in range(1, 9):
        created = BASE - timedelta(days=t)
        tasks[str(t)] = {
            "id": t,
            "name": f"Task {t}",
            "description": "Help welcome 5 new members to the server",
            "reward": 100 * t,
            "duration_hours": 24,
            "status": rng.choice(["active", "expired", "completed"]),
            "created": created.replace(tzinfo=None).isoformat(),
            "expires_at": (created + timedelta(days=2)).replace(tzinfo=None).isoformat(),
            "channel_id": "1438926553084985416",
            "max_claims": -1 if t % 2 else 50,
            "current_claims": 0,
            "assigned_users": [],
            "category": "General",
            "role_name": None,
            "message_id": "1438959951623225527",
        }
    for user_id in list(users)[: members // 10]:
        claimed = rng.sample(range(1, 9), 2)
        user_tasks[user_id] = {
            str(t): {
                "claimed_at": _stamp(BASE - timedelta(days=1), rng),
                "deadline": _stamp(BASE + timedelta(days=1), rng),
                "status": rng.choice(["in_progress", "submitted", "accepted", "rejected"]),
                "proof_message_id": None,
                "proof_attachments": ["https://cdn.example.com/proof.png"],
                "proof_content": "done",
                "submitted_at": None,
                "completed_at": None,
                "notes": "",
            }
            for t in claimed
        }
        expected.claims += 2
    expected.tasks = len(tasks)
    log: list[Any] = []
    user_ids = list(users)
    for n in range(lines):
        amount = rng.randint(-200, 500)
        before = rng.randint(0, 5000)
        log.append(
            {
                "id": f"txn_{guild_id}_{1731595577168 + n}_{n:06x}",
                "user_id": rng.choice(user_ids),
                "amount": amount,
                "balance_before": before,
                "balance_after": before + amount,
                "type": rng.choice(["daily", "transfer_send", "transfer_receive", "shop"]),
                "description": "Daily reward",
                "timestamp": _stamp(BASE + timedelta(minutes=n), rng),
                "metadata": {"source": "discord_command", "command": "/daily"},
            }
        )
    expected.history = lines
    if bad:
        _add_bad_records(users, items, inventory, tasks, log)
        expected.skipped = BAD_RECORDS
    expected.skipped += CONFIG_NOTES
    expected.total = sum(expected.balances.values())
    currency = {
        "users": users,
        "inventory": inventory,
        "shop_items": items,
        "metadata": {"version": "2.0", "total_currency": expected.total},
    }
    tasks_file = {
        "tasks": tasks,
        "user_tasks": user_tasks,
        "categories": [],
        "settings": {
            "allow_user_tasks": True,
            "max_tasks_per_user": 7,
            "auto_expire_enabled": True,
            "require_proof": False,
            "announcement_channel_id": None,
        },
        "metadata": {"next_task_id": 9, "total_completed": 0, "total_expired": 0},
    }
    config: dict[str, Any] = {
        "prefix": "!",
        "currency_name": "coins",
        "currency_symbol": "$",
        "admin_roles": [],
        "moderator_roles": [],
        "log_channel": None,
        "welcome_channel": None,
        "features": {"currency": True, "tasks": True, "moderation": True},
        "server_name": f"Server {guild_id[-1]}",
        "member_count": members,
        "owner_id": "217134609056530434",
        "task_channel_id": None,
        "shop_channel_id": None,
    }
    folder = root / guild_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in (
        ("currency.json", currency),
        ("tasks.json", tasks_file),
        ("config.json", config),
        ("transactions.json", log),
    ):
        (folder / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return expected


def _add_bad_records(
    users: dict[str, Any],
    items: dict[str, Any],
    inventory: dict[str, dict[str, int]],
    tasks: dict[str, Any],
    log: list[Any],
) -> None:
    """``BAD_RECORDS`` records the importer must skip, each for a stated reason."""
    users["not-a-user"] = {"balance": 10}  # 1: the key is no id
    users["800000000000000001"] = {"balance": -5}  # 2: negative
    users["800000000000000002"] = {"balance": 2**70}  # 3: beyond 64 bits
    users["800000000000000003"] = {"balance": "100"}  # 4: a string
    items["bad-nul"] = {"name": "Bad\x00item", "price": 1}  # 5: NUL
    items["bad-long"] = {"name": "x" * 300, "price": 1}  # 6: overlong
    inventory.setdefault("700000000000100000", {})["no-such-item"] = 3  # 7: unknown item
    tasks["bad-reward"] = {"name": "Huge", "reward": 1e30}  # 8: a float beyond bounds
    log.append({"id": "bad-1", "user_id": "abc", "amount": 5})  # 9: user is no id
    log.append({"id": "bad-2", "user_id": "700000000000100000", "amount": 2**64})  # 10
    log.append(  # 11: NUL in the description
        {"id": "bad-3", "user_id": "700000000000100000", "amount": 1, "description": "a\x00b"}
    )
    log.append("not an object")  # 12


def write_dataset(root: Path, *, bad: bool = True, scale: float = 1.0) -> dict[str, Expected]:
    """The whole data folder under ``root``; ``scale`` shrinks it for quick tests."""
    return {
        guild_id: write_guild(
            root,
            guild_id,
            max(1, int(members * scale)),
            max(1, int(lines * scale)),
            seed=index,
            bad=bad and index == 0,
        )
        for index, (guild_id, (members, lines)) in enumerate(GUILDS.items())
    }
