"""A plain purchase in one round trip (PostgreSQL): the shop's busiest write.

``purchase_standalone`` runs a purchase as the unit of work's only write: one autocommitted
statement on the driver pool (``UnitOfWork.standalone_pool``), like the transfer's
(``ledger/transfers.py``). In that statement it recalls the ``Idempotency-Key`` (a replay
moves nothing), takes a limited item's stock with the guarded ``UPDATE`` of its row (the row
lock that serialises purchases of one limited item; the guard is re-read on the newest row, so
nothing oversells) while an unlimited item's row is only read, counts the sale in the buyer's
shard of ``shop_item_sales`` (so buyers of one item do not queue on a row), posts the
``shop_purchase`` through ``guildbank_post`` (which locks the buyer and the shop account of
the buyer's shard in id order and refuses an overdraft with the schema's check), grows the
inventory, writes the purchase row, stores the events
(``shop.stock_changed`` for a limited item, then ``shop.purchase``) and the key's record,
whose body is the answer itself. There are two such statements, one taking a stock and one
only reading an unlimited item; a per-process hint (``ITEMS_WITH_STOCK``) picks one, and a
wrong guess writes nothing and says which to run instead.

It answers None when the purchase must take the transactional path (``service.purchase``),
which names every refusal: SQLite (no driver pool), a member without an account yet, an item
that is not plainly for sale (inactive, expired, short of stock, free, with a per-member
limit, requirements or purchase actions, a total past the bounds, or a limited item whose
Discord post must follow the stock), and an overdraft. A None wrote nothing, so the fallback
stays exactly-once.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from guildbank.core.limits import MAX_AMOUNT
from guildbank.features.shop.events import Purchased, StockChanged
from guildbank.features.shop.rules import UNLIMITED
from guildbank.features.shop.schemas import PurchaseOut
from guildbank.ledger.accounts import shop_account, shop_shard
from guildbank.platform import idempotency
from guildbank.platform.cache import CacheSlot
from guildbank.platform.idempotency import IdempotentRequest, Replayed
from guildbank.platform.uow import UnitOfWork

__all__ = ["PURCHASE_STATEMENTS", "purchase_standalone"]

_RECORD_KEY = "pk_idempotency_records"
# What makes an item plainly for sale on this path (the key unused, both accounts there).
_FOR_SALE = """i.id = $3::bigint AND i.guild_id = $1::text AND i.is_active
            AND (i.expires_at IS NULL OR i.expires_at > $5::timestamptz)
            AND i.price > 0 AND i.price * $4::bigint <= $7::bigint
            AND i.max_per_member IS NULL
            AND json_array_length(i.requirements) = 0
            AND json_array_length(i.purchase_actions) = 0
            AND NOT EXISTS (SELECT 1 FROM prior)
            AND EXISTS (SELECT 1 FROM buyer) AND EXISTS (SELECT 1 FROM shop)"""
_TIME = """to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

# $1 guild, $2 user, $3 item, $4 quantity, $5 now, $6 whether a limited item may take this
# path (no shop channel: no post follows its stock), $7 MAX_AMOUNT, $8-$13 the key's owner,
# key, fingerprint, method, path and canonical request (all NULL without a key), $14 the
# buyer's shop account (``ledger.accounts.shop_account``), $15 its shard (``shop_shard``).
# The answer's fields are PurchaseOut's (tests/features/shop/test_lean.py compares them with
# the transactional path's); datetimes are written as pydantic writes them.
_TAKE_STOCK = f"""UPDATE shop_items i
        SET stock = i.stock - $4::bigint, updated_at = $5::timestamptz
        WHERE i.stock <> {UNLIMITED} AND $6::boolean AND i.stock >= $4::bigint AND {_FOR_SALE}
        RETURNING i.*"""  # noqa: S608 (this module's constants only)
# ($6 is unused here, but named: every parameter of a prepared statement needs a type.)
_READ_UNLIMITED = f"""SELECT i.* FROM shop_items i
        WHERE $6::boolean IS NOT NULL AND i.stock = {UNLIMITED} AND {_FOR_SALE}"""  # noqa: S608

_TEMPLATE = f"""
WITH prior AS MATERIALIZED (
    SELECT json_build_object(
            'method', r.method, 'path', r.path, 'request', r.request,
            'fingerprint', r.fingerprint, 'status_code', r.status_code, 'body', r.body) AS stored
        FROM idempotency_records r
        WHERE $9::text IS NOT NULL AND r.api_key_id = $8::bigint AND r.key = $9::text
), buyer AS MATERIALIZED (
    SELECT a.id FROM accounts a
        WHERE a.guild_id = $1::text AND a.user_id = $2::text AND NOT a.is_system
), shop AS MATERIALIZED (
    SELECT a.id FROM accounts a
        WHERE a.guild_id = $1::text AND a.user_id = $14::text AND a.is_system
), item AS MATERIALIZED (
    @ITEM@
), counted AS (
    INSERT INTO shop_item_sales (item_id, shard, guild_id, sold)
        SELECT i.id, $15::smallint, $1::text, $4::bigint FROM item i
        ON CONFLICT (item_id, shard) DO UPDATE SET sold = shop_item_sales.sold + EXCLUDED.sold
        RETURNING sold
), sales AS MATERIALIZED (
    SELECT c.sold + coalesce((SELECT sum(s.sold) FROM shop_item_sales s
                              WHERE s.item_id = $3::bigint AND s.shard <> $15::smallint), 0
                             )::bigint AS sales_count
    FROM counted c
), posted AS MATERIALIZED (
    SELECT p.o_tx, p.o_account, p.o_after
        FROM item i CROSS JOIN buyer b CROSS JOIN shop s,
        LATERAL guildbank_post(
            $1::text, 'shop_purchase', i.price * $4::bigint,
            left('Bought ' || $4::bigint || ' x ' || i.name, 200), $2::text, NULL,
            $5::timestamptz,
            CASE WHEN b.id < s.id THEN ARRAY[b.id, s.id] ELSE ARRAY[s.id, b.id] END,
            CASE WHEN b.id < s.id THEN ARRAY[-(i.price * $4::bigint), i.price * $4::bigint]
                 ELSE ARRAY[i.price * $4::bigint, -(i.price * $4::bigint)] END,
            ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[]) p
), paid AS MATERIALIZED (
    SELECT max(p.o_tx) AS tx, max(p.o_after) FILTER (WHERE p.o_account = b.id) AS balance
        FROM posted p CROSS JOIN buyer b
), held AS (
    INSERT INTO shop_inventories (guild_id, user_id, item_id, quantity, updated_at)
        SELECT $1::text, $2::text, i.id, $4::bigint, $5::timestamptz FROM item i
        ON CONFLICT (guild_id, user_id, item_id) DO UPDATE
            SET quantity = shop_inventories.quantity + EXCLUDED.quantity,
                updated_at = EXCLUDED.updated_at
        RETURNING quantity
), bought AS (
    INSERT INTO shop_purchases (guild_id, item_id, user_id, quantity, total, transaction_id,
                                created_at)
        SELECT $1::text, i.id, $2::text, $4::bigint, i.price * $4::bigint, t.tx,
               $5::timestamptz
        FROM item i CROSS JOIN paid t
        RETURNING id
), answer AS MATERIALIZED (
    SELECT i.id AS item_id, i.stock, c.sales_count, p.id AS purchase_id, t.tx, t.balance,
        json_build_object(
            'messages', '[]'::json, 'roles_added', '[]'::json, 'roles_removed', '[]'::json,
            'bytes_change', 0, 'purchase_id', p.id, 'guild_id', $1::text, 'user_id', $2::text,
            'item', json_build_object(
                'id', i.id, 'guild_id', i.guild_id, 'name', i.name,
                'description', i.description, 'emoji', i.emoji, 'price', i.price,
                'category', i.category, 'stock', i.stock, 'is_active', i.is_active,
                'expires_at', {_TIME % "i.expires_at"}, 'is_expired', false,
                'usable', i.usable, 'sellable', i.sellable, 'sell_percent', i.sell_percent,
                'max_per_member', i.max_per_member, 'requirements', i.requirements,
                'requirement_mode', i.requirement_mode,
                'purchase_actions', i.purchase_actions, 'use_actions', i.use_actions,
                'sales_count', c.sales_count, 'created_at', {_TIME % "i.created_at"},
                'updated_at', {_TIME % "i.updated_at"},
                'post', json_build_object(
                    'channel_id', NULL, 'message_id', NULL, 'sync_status', NULL,
                    'last_error', NULL)),
            'quantity', $4::bigint, 'total', i.price * $4::bigint, 'balance', t.balance,
            'held', h.quantity, 'transaction_id', t.tx) AS body
        FROM item i CROSS JOIN paid t CROSS JOIN bought p CROSS JOIN held h CROSS JOIN sales c
), events AS (
    INSERT INTO event_log (guild_id, name, data, created_at)
        SELECT $1::text, e.name, e.data, $5::timestamptz
        FROM answer a, LATERAL (VALUES
            (1, '{StockChanged.name}', json_build_object(
                'item_id', a.item_id, 'stock', a.stock, 'sales_count', a.sales_count)),
            (2, '{Purchased.name}', json_build_object(
                'purchase_id', a.purchase_id, 'item_id', a.item_id, 'user_id', $2::text,
                'quantity', $4::bigint, 'total', (a.body ->> 'total')::bigint,
                'balance', a.balance, 'transaction_id', a.tx))
        ) AS e(n, name, data)
        WHERE e.n = 2 OR a.stock <> {UNLIMITED}
        ORDER BY e.n
), recorded AS (
    INSERT INTO idempotency_records (api_key_id, key, guild_id, method, path, request,
                                     fingerprint, status_code, body, created_at)
        SELECT $8::bigint, $9::text, $1::text, $11::text, $12::text, $13::json, $10::text, 200,
               a.body, $5::timestamptz
        FROM answer a WHERE $9::text IS NOT NULL
)
SELECT (SELECT stored FROM prior), (SELECT body FROM answer),
    CASE WHEN NOT EXISTS (SELECT 1 FROM answer) THEN (
        SELECT i.stock <> {UNLIMITED} FROM shop_items i
            WHERE i.id = $3::bigint AND i.guild_id = $1::text) END
"""  # noqa: S608 (only this module's constants are interpolated; values are parameters)
# A limited item's purchase takes its stock (and its row lock); an unlimited one only reads
# the item, and without an UPDATE in the plan PostgreSQL prepares less for each execution.
PURCHASE_STATEMENTS = {
    limited: _TEMPLATE.replace("@ITEM@", _TAKE_STOCK if limited else _READ_UNLIMITED)
    for limited in (False, True)
}
# Which of the two an item needs, as last seen (a hint: a wrong guess writes nothing, and
# the answer's third column says which to run instead).
ITEMS_WITH_STOCK: CacheSlot[int, bool] = CacheSlot("shop items with a stock")


def _key_columns(keyed: IdempotentRequest | None) -> tuple[Any, ...]:
    if keyed is None:
        return (None, None, None, None, None, None)
    return (keyed.owner, keyed.key, keyed.fingerprint, keyed.method, keyed.path, keyed.canonical)


async def purchase_standalone(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    item_id: int,
    quantity: int,
    limited_ok: bool,
    keyed: IdempotentRequest | None = None,
) -> PurchaseOut | None:
    """The purchase in one statement, or None for the transactional path (module docstring).

    Raises Replayed with the key's first response for a repeat, IdempotencyKeyReused for a
    key that answered another request. The unit must not have begun its transaction; after a
    purchase it refuses any other write.
    """
    pool = await uow.standalone_pool()
    if pool is None:
        return None
    hints = uow.services.caches[ITEMS_WITH_STOCK]
    limited = hints.get(item_id) or False
    arguments = (
        guild_id,
        user_id,
        item_id,
        quantity,
        uow.now,
        limited_ok,
        MAX_AMOUNT,
        *_key_columns(keyed),
        shop_account(user_id),
        shop_shard(user_id),
    )
    try:
        row = await pool.fetchrow(PURCHASE_STATEMENTS[limited], *arguments)
        assert row is not None
        if row[0] is None and row[2] is not None and row[2] != limited:
            # The guess was wrong (a new item, or its stock changed kind): nothing was written.
            limited = bool(row[2])
            row = await pool.fetchrow(PURCHASE_STATEMENTS[limited], *arguments)
            assert row is not None
        hints.put(item_id, limited)
    except asyncpg.UniqueViolationError as error:
        if keyed is None or error.constraint_name != _RECORD_KEY:
            raise
        # A twin recorded the key first; this statement undid itself: the twin's answer.
        stored = await idempotency.recall(uow, keyed)
        assert stored is not None
        raise Replayed(stored) from None
    except asyncpg.IntegrityConstraintViolationError:
        return None  # an overdraft or a bound: the transactional path refuses it by name
    assert row is not None
    prior, body = row[0], row[1]
    if prior is not None:
        assert keyed is not None
        raise Replayed(keyed.answer(orjson.loads(prior)))
    if body is None:
        return None
    result = PurchaseOut.model_validate_json(body)
    uow.wrote_standalone(events_stored=True)
    if result.item.stock != UNLIMITED:
        uow.emit(
            StockChanged(
                guild_id=guild_id,
                item_id=result.item.id,
                stock=result.item.stock,
                sales_count=result.item.sales_count,
            )
        )
    uow.emit(
        Purchased(
            guild_id=guild_id,
            purchase_id=result.purchase_id,
            item_id=result.item.id,
            user_id=user_id,
            quantity=quantity,
            total=result.total,
            balance=result.balance,
            transaction_id=result.transaction_id,
        )
    )
    return result
