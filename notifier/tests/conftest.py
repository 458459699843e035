"""Fixtures: a real PostgreSQL (NOTIFIER_TEST_DATABASE_URL, with the TypeScript side's migrations
applied), rows of each test's own, a fake Kakao endpoint, an activity environment, and the drain
run until an outcome.

The database may be shared with other processes and tests: every test makes its own product
and reservation ids (one random prefix per test) and looks only at those rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from temporalio.testing import ActivityEnvironment

from notifier.activities import NotifierActivities
from notifier.kakao import Sender
from notifier.tests.fakes import FakeKakao, RecordingSender

HOLD_UNTIL = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)  # 2026-12-03 18:00 in Korea


def full_facts(kind: str, **overrides: Any) -> dict[str, Any]:
    """A payload as the TypeScript side writes it for a new row (a store pick-up, 1.2 km away; see
    NotificationFacts)."""
    facts = {
        "status": "CONFIRMED",
        "storeId": "gangnam-01",
        "fulfilment": "PICKUP",
        "productName": "Galaxy Test 256GB",
        "storeName": "강남역점",
        "distanceKm": 1.2,
        "holdUntil": "2026-12-03T09:00:00.000Z",
        "fallback": False,
        "reason": "OUT_OF_STOCK" if kind == "REJECTED" else None,
    }
    facts.update(overrides)
    return facts


class Seed:
    """Creates this test's rows and removes them afterwards."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.prefix = f"PYT{uuid.uuid4().hex[:8].upper()}"
        self.product_id: int | None = None
        self._count = 0

    @property
    def scope(self) -> str:
        """The LIKE pattern of this test's reservation ids (the drain's test scope)."""
        return f"{self.prefix}%"

    async def product(self) -> int:
        if self.product_id is None:
            self.product_id = random.randint(1_000_000, 2_000_000_000)
            await self.sql(
                "insert into products (id, sku, name, brand, price_krw, stock) values (%s, %s, %s, 'Test', 0, 0)",
                (self.product_id, f"pytest-{self.prefix}", "Galaxy Test 256GB"),
            )
        return self.product_id

    async def reservation(
        self,
        *,
        name: str | None = "김민수",
        phone: str | None = "010-1234-5678",
        store_id: str | None = "gangnam-01",
        store_name: str | None = "강남역점",
        distance_km: float | None = 1.2,
        hold_until: datetime | None = HOLD_UNTIL,
        reject_reason: str | None = None,
        contact: bool = True,
    ) -> str:
        self._count += 1
        reservation_id = f"{self.prefix}{self._count:03d}"
        await self.sql(
            """insert into reservations (id, workflow_id, product_id, quantity, customer_id, status, fulfilment,
                 store_id, store_name, store_distance_km, hold_until, reject_reason)
               values (%s, %s, %s, 1, 'cust-pytest', 'CONFIRMED', 'PICKUP', %s, %s, %s, %s, %s)""",
            (reservation_id, f"reservation-{reservation_id}", await self.product(), store_id, store_name,
             distance_km, hold_until, reject_reason),
        )
        if contact:
            await self.sql(
                "insert into reservation_contacts (reservation_id, customer_id, name, phone) values (%s, 'cust-pytest', %s, %s)",
                (reservation_id, name, phone),
            )
        return reservation_id

    async def notification(
        self,
        reservation_id: str,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        age: timedelta = timedelta(0),
    ) -> int:
        rows = await self.query(
            """insert into notifications (reservation_id, kind, payload, created_at)
               values (%s, %s, %s::jsonb, now() - %s) returning id""",
            (reservation_id, kind, json.dumps(payload if payload is not None else full_facts(kind)), age),
        )
        return rows[0]["id"]

    async def rows(self, reservation_id: str) -> list[dict[str, Any]]:
        return await self.query("select * from notifications where reservation_id = %s order by id", (reservation_id,))

    async def row(self, notification_id: int) -> dict[str, Any]:
        return (await self.query("select * from notifications where id = %s", (notification_id,)))[0]

    async def sql(self, statement: str, params: Any = None) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(statement, params)

    async def query(self, statement: str, params: Any = None) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(statement, params)
                return await cur.fetchall()

    async def cleanup(self) -> None:
        like = self.scope
        await self.sql("delete from notifications where reservation_id like %s", (like,))
        await self.sql("delete from reservation_contacts where reservation_id like %s", (like,))
        await self.sql("delete from reservations where id like %s", (like,))
        if self.product_id is not None:
            await self.sql("delete from products where id = %s", (self.product_id,))


@pytest.fixture
def database_url() -> str:
    url = os.environ.get("NOTIFIER_TEST_DATABASE_URL")
    if not url:
        pytest.fail("NOTIFIER_TEST_DATABASE_URL is not set: the outbox tests need a PostgreSQL with the app's migrations (npm test sets it)")
    return url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(database_url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True, timeout=10)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def seed(pool: AsyncConnectionPool) -> AsyncIterator[Seed]:
    seed = Seed(pool)
    try:
        yield seed
    finally:
        await seed.cleanup()


@pytest.fixture
def kakao() -> Iterator[FakeKakao]:
    fake = FakeKakao().start()
    try:
        yield fake
    finally:
        fake.stop()


def recording_env() -> ActivityEnvironment:
    """An activity environment that keeps every heartbeat's details in `heartbeats`."""
    environment = ActivityEnvironment()
    environment.heartbeats = []  # type: ignore[attr-defined]
    environment.on_heartbeat = lambda *details: environment.heartbeats.append(details)  # type: ignore[attr-defined]
    return environment


@pytest.fixture
def env() -> ActivityEnvironment:
    return recording_env()


def drain(pool: AsyncConnectionPool, seed: Seed, sender: Sender, rate: float = 0, **options: Any) -> NotifierActivities:
    # The scope keeps the drain to this test's rows: the database may hold others' pending rows.
    return NotifierActivities(pool, sender, rate_per_second=rate, drain_scope=seed.scope, **options)


async def drain_until(env: ActivityEnvironment, activities: NotifierActivities, done: Callable[[], bool], **input: Any) -> dict[str, Any]:
    """Runs the drain until `done()` holds, then stops it as a worker's shutdown does: its totals.
    A drain that fails or returns first fails the test."""
    task = asyncio.ensure_future(env.run(activities.notify_pending, {"maxMs": 600_000, "idleMs": 20, **input}))
    while not done():
        if task.done():
            result = await task  # raises what failed it
            pytest.fail(f"the drain returned {result} before the test's outcome")
        await asyncio.sleep(0.01)
    env.worker_shutdown()
    return await task


async def drain_briefly(env: ActivityEnvironment, activities: NotifierActivities) -> dict[str, Any]:
    """Runs the drain for half a second, claiming every 20 ms: for a test of what it does not do."""
    return await env.run(activities.notify_pending, {"maxMs": 500, "idleMs": 20})


def settled(env: ActivityEnvironment, count: int) -> Callable[[], bool]:
    """Whether the drain run in `env` has settled `count` rows (sent or failed): it heartbeats its
    totals after each."""

    def done() -> bool:
        if not env.heartbeats:  # type: ignore[attr-defined]
            return False
        totals = env.heartbeats[-1][0]  # type: ignore[attr-defined]
        return totals["delivered"] + totals["failed"] >= count

    return done


class PoolHog:
    """Holds every connection of a pool, so that the next statement waits for one: a wait a
    cancellation can land in before the statement reaches the database."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._free = asyncio.Event()
        self._holders: list[asyncio.Task[None]] = []

    async def take_all(self) -> None:
        all_taken = asyncio.Event()
        taken = 0

        async def hold() -> None:
            nonlocal taken
            async with self.pool.connection():
                taken += 1
                if taken == self.pool.max_size:
                    all_taken.set()
                await self._free.wait()

        self._holders = [asyncio.ensure_future(hold()) for _ in range(self.pool.max_size)]
        await all_taken.wait()

    def give_back(self) -> None:
        self._free.set()


def sender_cancelled_at_settle(pool: AsyncConnectionPool, env: ActivityEnvironment) -> RecordingSender:
    """A sender whose message goes out, after which the activity is cancelled while its settle waits
    for a connection (every one is held from just before the send until the cancel)."""
    sender = RecordingSender()
    hog = PoolHog(pool)
    sender.before = lambda key: hog.take_all()

    def cancel(key: str) -> None:
        env.cancel()
        hog.give_back()

    sender.after = cancel
    return sender
