from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from notifier import outbox
from notifier.activities import NotifierActivities
from notifier.kakao import KakaoUnavailable
from notifier.tests.fakes import RecordingSender

pytestmark = pytest.mark.usefixtures("database_url")
OLD = timedelta(minutes=3)


def drain(pool, seed, sender, rate: float = 0) -> NotifierActivities:
    # The scope keeps the drain to this test's rows: the database may hold others' pending rows.
    return NotifierActivities(pool, sender, rate_per_second=rate, drain_scope=seed.scope)


async def test_takes_drain_rows_and_orphans_but_leaves_fresh_workflow_rows(seed, pool, env):
    refused = await seed.reservation()
    orphan = await seed.reservation()
    live = await seed.reservation()
    refused_row = await seed.notification(refused, "REJECTED", deliverer="drain")
    orphan_row = await seed.notification(orphan, "EXPIRED", age=OLD)
    live_row = await seed.notification(live, "ACCEPTED")
    sender = RecordingSender()

    result = await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 400, "idleMs": 50})

    assert result["delivered"] == 2 and result["failed"] == 0 and result["batches"] >= 1
    assert sorted(sender.keys()) == sorted([f"tshop-{refused}-REJECTED", f"tshop-{orphan}-EXPIRED"])
    assert (await seed.row(refused_row))["template_code"] == "TSHOP_SOLD_OUT"
    assert (await seed.row(orphan_row))["sent_at"] is not None
    untouched = await seed.row(live_row)
    assert untouched["sent_at"] is None and untouched["attempts"] == 0 and untouched["claimed_until"] is None


async def test_one_row_per_reservation_per_batch_in_order(seed, pool, env):
    first = await seed.reservation()
    second = await seed.reservation()
    for kind in ("ACCEPTED", "CONFIRMED", "CANCELLED"):
        await seed.notification(first, kind, deliverer="drain")
    await seed.notification(second, "REJECTED", deliverer="drain")

    batch = await outbox.claim_for_drain(pool, scope=seed.scope)
    assert [(c.reservation_id, c.kind) for c in batch] == [(first, "ACCEPTED"), (second, "REJECTED")]
    for claimed in batch:
        await outbox.release(pool, claimed.id)

    sender = RecordingSender()
    result = await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 500, "idleMs": 20})

    assert result["delivered"] == 4 and result["batches"] == 3
    assert [k for k in sender.keys() if k.startswith(f"tshop-{first}")] == [
        f"tshop-{first}-ACCEPTED", f"tshop-{first}-CONFIRMED", f"tshop-{first}-CANCELLED"
    ]
    assert env.heartbeats and env.heartbeats[-1][0]["delivered"] == 4


async def test_respects_the_rate(seed, pool, env):
    for _ in range(10):
        await seed.notification(await seed.reservation(), "ACCEPTED", deliverer="drain")
    sender = RecordingSender()
    started = asyncio.get_running_loop().time()

    # maxMs leaves room for a loaded machine: the bound below holds however late the sends run.
    result = await env.run(drain(pool, seed, sender, rate=20).notify_pending, {"maxMs": 1500, "idleMs": 50})

    assert result["delivered"] == 10
    # Never a burst: by the time the k-th message goes out, at least k intervals of 1/20 s have passed.
    # (A send can start late, never early, so this holds without a tolerance for scheduling jitter.)
    times = sorted(t for t, _, _ in sender.sent)
    assert all(t >= started + k / 20 for k, t in enumerate(times)), [round(t - started, 3) for t in times]


async def test_sends_concurrently_without_a_rate(seed, pool, env):
    for _ in range(16):
        await seed.notification(await seed.reservation(), "ACCEPTED", deliverer="drain")
    sender = RecordingSender()
    sender.delay = 0.2

    result = await env.run(drain(pool, seed, sender, rate=0).notify_pending, {"maxMs": 300, "idleMs": 50})

    assert result["delivered"] == 16
    # 16 at once: one after another, 0.2 s each, their ends would span 3 s.
    ends = sorted(t for t, _, _ in sender.sent)
    assert ends[-1] - ends[0] < 1.0


async def test_returns_at_max_ms_heartbeating_while_idle(seed, pool, env):
    started = time.monotonic()

    result = await env.run(drain(pool, seed, RecordingSender()).notify_pending, {"maxMs": 300, "idleMs": 50})

    assert result == {"delivered": 0, "failed": 0, "batches": 0}
    assert 0.3 <= time.monotonic() - started < 2.0  # the upper bound is loose for a loaded machine
    assert len(env.heartbeats) >= 3


async def test_an_unavailable_endpoint_makes_it_back_off_not_fail(seed, pool, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "ACCEPTED", deliverer="drain")
    await seed.notification(rid, "CONFIRMED", deliverer="drain")
    sender = RecordingSender()
    sender.fail_with = KakaoUnavailable("KAKAO_UNAVAILABLE: HTTP 503")
    attempts_before = (await seed.row(nid))["attempts"]

    result = await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 600, "idleMs": 20})

    assert result == {"delivered": 0, "failed": 0, "batches": 1}  # one try, then a 1 s back-off past maxMs
    row = await seed.row(nid)
    assert row["sent_at"] is None and row["failed_at"] is None and row["claimed_until"] is None
    assert row["attempts"] == attempts_before + 1

    sender.fail_with = None
    result = await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 300, "idleMs": 20})
    assert result["delivered"] == 2 and sender.keys() == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]


async def test_cancellation_ends_it_promptly_and_gives_claims_back(seed, pool, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "ACCEPTED", deliverer="drain")
    sender = RecordingSender()
    sender.delay = 5  # a send that hangs until cancelled
    task = asyncio.ensure_future(env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 20_000, "idleMs": 50}))
    await asyncio.sleep(0.3)
    started = time.monotonic()

    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.monotonic() - started < 3.0  # well before the 5 s send would have ended
    row = await seed.row(nid)
    assert row["sent_at"] is None and row["claimed_until"] is None


async def test_worker_shutdown_ends_it_early_with_its_totals(seed, pool, env):
    task = asyncio.ensure_future(env.run(drain(pool, seed, RecordingSender()).notify_pending, {"maxMs": 20_000, "idleMs": 5_000}))
    await asyncio.sleep(0.2)
    started = time.monotonic()

    env.worker_shutdown()

    assert await task == {"delivered": 0, "failed": 0, "batches": 0}
    assert time.monotonic() - started < 3.0  # well before its 5 s idle pause would have ended


async def test_replicas_and_workflows_racing_send_each_message_once_in_order(seed, pool):
    reservations = [await seed.reservation() for _ in range(4)]
    kinds = ("ACCEPTED", "CONFIRMED", "REMINDER", "COMPLETED")
    for rid in reservations:
        for i, kind in enumerate(kinds):
            await seed.notification(rid, kind, deliverer="drain" if i % 2 else "workflow", age=OLD if i == 0 else timedelta(0))
    sender = RecordingSender()
    sender.delay = 0.01
    replicas = [drain(pool, seed, sender) for _ in range(3)]

    async def customer(activities: NotifierActivities, rid: str) -> None:
        for _ in range(100):  # as Temporal retries DeliveryInProgress
            try:
                await ActivityEnvironment().run(activities.notify_customer, {"reservationId": rid})
                return
            except ApplicationError as error:
                assert error.type == "DeliveryInProgress"
                await asyncio.sleep(0.02)

    await asyncio.gather(
        *(ActivityEnvironment().run(r.notify_pending, {"maxMs": 800, "idleMs": 10}) for r in replicas),
        *(customer(replicas[i % 3], rid) for i, rid in enumerate(reservations)),
    )

    keys = sender.keys()
    assert sorted(keys) == sorted(f"tshop-{rid}-{kind}" for rid in reservations for kind in kinds)  # each once
    for rid in reservations:
        assert [k for k in keys if k.startswith(f"tshop-{rid}-")] == [f"tshop-{rid}-{kind}" for kind in kinds]
