"""The notification outbox in PostgreSQL: claiming rows, the facts and contact to fill them, settling.

Every pending row is the drain's: the statement that queues a row wakes it (a trigger notifies
CHANNEL at commit), so a message leaves within a claim's round trip of its change, with no
Temporal task of its own.

A claim is a lease (`claimed_until`) taken in one statement, outside any open transaction, so
the HTTP call holds no lock. Only a reservation's oldest pending row can be claimed, and
`for update skip locked` keeps two claimers off the same row: any number of drains at once (one
in each notifier replica, or one Temporal timed out still running beside its retry) send a
reservation's messages once each, in order.

Each claim counts an attempt, so (id, attempts) names one claim: a deliverer renews its lease
right before each send, and gives a row back or fails it, only while that claim is still the
row's. A deliverer whose lease ran out can then neither send a row another has claimed since,
nor clear that other's lease (which would let a third send it again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from .templates import CENTRAL_STORE_ID, Facts, Rendered, TemplateError, parse_instant

# Far longer than a send may take (kakao.TIMEOUT_SECONDS, and the activities cap any sender at
# half a lease): a send always ends before the lease it was started under.
LEASE_SECONDS = 30.0
DRAIN_BATCH = 100
# Notified (by migration 0018's trigger) when a statement queues rows.
CHANNEL = "tshop_notifications"

# The claim reads what a send needs with it, so a send costs no query of its own. The name and
# number stay in this process's memory: never in an activity's input, result or heartbeat, nor in
# a log line. `scope` (a LIKE pattern on reservation ids) is set by tests only.
CLAIM_FOR_DRAIN = """
with claimed as (
  update notifications set claimed_until = now() + make_interval(secs => %(lease)s), attempts = attempts + 1
  where id in (
    select n.id from notifications n
    where n.sent_at is null and n.failed_at is null
      and (n.claimed_until is null or n.claimed_until < now())
      and (%(scope)s::text is null or n.reservation_id like %(scope)s::text)
      and not exists (select 1 from notifications e where e.reservation_id = n.reservation_id
                      and e.sent_at is null and e.failed_at is null and e.id < n.id)
    order by n.id limit %(limit)s
    for update skip locked)
  returning id, reservation_id, kind, payload, attempts)
select c.id, c.reservation_id, c.kind, c.payload, c.attempts,
       p.name as product_name, r.store_id, r.store_name, r.store_distance_km, r.hold_until, r.reject_reason,
       ct.name as contact_name, ct.phone as contact_phone
from claimed c
left join reservations r on r.id = c.reservation_id
left join products p on p.id = r.product_id
left join reservation_contacts ct on ct.reservation_id = c.reservation_id
order by c.id
"""


@dataclass(frozen=True)
class Claimed:
    id: int
    reservation_id: str
    kind: str
    attempts: int
    # The row's payload and read-model columns, made into Facts by facts_of at send time (a
    # malformed row then fails alone instead of failing the batch it was claimed in).
    row: dict[str, Any] = field(repr=False)
    contact: "Contact" = field(repr=False)


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None


@asynccontextmanager
async def listening(pool: AsyncConnectionPool) -> AsyncIterator[Callable[[float], Awaitable[bool]]]:
    """Holds a connection of its own (the pool's serve single statements) listening on CHANNEL;
    yields `woken(timeout)`: True once a row was queued (since the last call: psycopg keeps what
    came in between), False when the time ran out."""
    async with await AsyncConnection.connect(pool.conninfo, autocommit=True) as conn:
        await conn.execute(f"listen {CHANNEL}")

        async def woken(timeout: float) -> bool:
            # Closed explicitly: a generator left suspended would keep the connection's lock.
            notifies = conn.notifies(timeout=timeout, stop_after=1)
            try:
                async for _ in notifies:
                    return True
                return False
            finally:
                await notifies.aclose()

        yield woken


async def claim_for_drain(
    pool: AsyncConnectionPool, limit: int = DRAIN_BATCH, scope: str | None = None, lease: float = LEASE_SECONDS
) -> list[Claimed]:
    rows = await _fetch(pool, CLAIM_FOR_DRAIN, {"limit": limit, "scope": scope, "lease": lease})
    return [_claimed(row) for row in rows]


async def renew(pool: AsyncConnectionPool, claimed: Claimed, lease: float = LEASE_SECONDS) -> bool:
    """A fresh lease on a row still ours, taken right before sending it; False when another
    deliverer has claimed it since (ours ran out): it is theirs to send. A lease that ran out with
    no one claiming the row since is taken again: a claim would have counted an attempt."""
    return await _execute(
        pool,
        """update notifications set claimed_until = now() + make_interval(secs => %s)
           where id = %s and attempts = %s and sent_at is null and failed_at is null""",
        (lease, claimed.id, claimed.attempts),
    )


async def settle_sent(
    pool: AsyncConnectionPool, claimed: Claimed, channel: str, rendered: Rendered, request: dict[str, Any]
) -> bool:
    """Records a send, whoever holds the row's lease by now: the message went, and a deliverer
    that claimed it since resends it with the same dedupe key, so the customer sees it once; it
    must not then fail it. False when the row was settled meanwhile."""
    return await _execute(
        pool,
        """update notifications set sent_at = now(), claimed_until = null, channel = %s, template_code = %s,
             request = %s, message_ko = %s, message_en = %s, error = null
           where id = %s and sent_at is null and failed_at is null""",
        (channel, rendered.template_code, Jsonb(request), rendered.text_ko, rendered.text_en, claimed.id),
    )


async def settle_failed(
    pool: AsyncConnectionPool,
    claimed: Claimed,
    error: str,
    rendered: Rendered | None = None,
    channel: str | None = None,
    request: dict[str, Any] | None = None,
) -> bool:
    return await _execute(
        pool,
        """update notifications set failed_at = now(), claimed_until = null, error = %s, channel = %s,
             template_code = %s, request = %s, message_ko = %s, message_en = %s
           where id = %s and attempts = %s and sent_at is null and failed_at is null""",
        (
            error,
            channel,
            rendered.template_code if rendered else None,
            Jsonb(request) if request is not None else None,
            rendered.text_ko if rendered else None,
            rendered.text_en if rendered else None,
            claimed.id,
            claimed.attempts,
        ),
    )


async def release(pool: AsyncConnectionPool, *claimed: Claimed) -> None:
    """Gives claimed rows back, still pending, for the next attempt (ours or anyone's); a row
    another deliverer has claimed since keeps their lease."""
    if not claimed:
        return
    await _execute(
        pool,
        """update notifications n set claimed_until = null
           from unnest(%s::bigint[], %s::int[]) as c(id, attempts)
           where n.id = c.id and n.attempts = c.attempts and n.sent_at is null and n.failed_at is null""",
        ([c.id for c in claimed], [c.attempts for c in claimed]),
    )


async def _fetch(pool: AsyncConnectionPool, query: str, params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()


async def _execute(pool: AsyncConnectionPool, query: str, params: Any) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        return cur.rowcount > 0


def _claimed(row: dict[str, Any]) -> Claimed:
    contact = Contact(row.pop("contact_name", None), row.pop("contact_phone", None))
    return Claimed(row["id"], row["reservation_id"], row["kind"], row["attempts"], row, contact)


def facts_of(row: dict[str, Any]) -> Facts:
    """The payload's facts; a fact an older row lacks comes from the reservation's read model."""
    payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}

    def fact(key: str, read_model: Any) -> Any:
        return payload[key] if key in payload else read_model

    store_id = fact("storeId", row.get("store_id"))
    kind = row["kind"]
    distance = fact("distanceKm", row.get("store_distance_km"))
    if distance is not None and not isinstance(distance, (int, float)):
        raise TemplateError(f"distanceKm is not a number: {distance!r}")
    return Facts(
        reservation_id=row["reservation_id"],
        kind=kind,
        product_name=fact("productName", row.get("product_name")),
        store_name=fact("storeName", row.get("store_name")),
        distance_km=float(distance) if distance is not None else None,
        hold_until=parse_instant(fact("holdUntil", row.get("hold_until"))),
        fallback=bool(fact("fallback", store_id == CENTRAL_STORE_ID)),
        reason=fact("reason", row.get("reject_reason") if kind == "REJECTED" else None),
    )
