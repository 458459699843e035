"""The drain's loop (notifyPending) against the test PostgreSQL: what wakes it, how it batches,
paces and backs off, and how it ends. What it does with each message: test_delivery.py. Tests wait
for outcomes, never for a fixed time: a drain runs until what the test waits for has happened,
then stops as at a worker's shutdown; pytest-timeout fails a test that hangs."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from notifier import activities as notifier_activities
from notifier import outbox
from notifier.kakao import DEFAULT_HALT_CODES, KakaoSender, KakaoUnavailable
from notifier.tests.conftest import drain, drain_until, recording_env
from notifier.tests.fakes import UNREGISTERED_TEMPLATE, RecordingSender

pytestmark = pytest.mark.usefixtures("database_url")
OLD = timedelta(minutes=3)
# app/notification/workflow.ts gives the drain's activity this heartbeat time-out.
DRAIN_HEARTBEAT_TIMEOUT = 30.0


async def test_takes_every_pending_row_however_old(seed, pool, env):
    refused = await seed.reservation()
    old = await seed.reservation()
    fresh = await seed.reservation()
    refused_row = await seed.notification(refused, "REJECTED")
    old_row = await seed.notification(old, "EXPIRED", age=OLD)
    fresh_row = await seed.notification(fresh, "ACCEPTED")
    sender = RecordingSender()

    result = await drain_until(env, drain(pool, seed, sender), lambda: len(sender.sent) == 3)

    assert result["delivered"] == 3 and result["failed"] == 0 and result["batches"] >= 1
    assert sorted(sender.keys()) == sorted([f"tshop-{refused}-REJECTED", f"tshop-{old}-EXPIRED", f"tshop-{fresh}-ACCEPTED"])
    assert (await seed.row(refused_row))["template_code"] == "TSHOP_SOLD_OUT"
    assert all([(await seed.row(row))["sent_at"] is not None for row in (old_row, fresh_row)])


async def test_a_row_queued_while_it_waits_wakes_it_at_once(seed, pool):
    """Idle for ten minutes between claims, the drain still sends a row queued meanwhile: the
    insert's trigger notifies it (pytest-timeout fails the test if it waits out its pause)."""
    reservation = await seed.reservation()
    sender = RecordingSender()
    env = recording_env()
    task = asyncio.ensure_future(env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 600_000, "idleMs": 600_000}))
    while not env.heartbeats:  # it found nothing and is waiting
        await asyncio.sleep(0.01)
    queued = time.monotonic()
    await seed.notification(reservation, "ACCEPTED")
    while not sender.sent:
        assert not task.done(), "the drain returned before the row was sent"
        await asyncio.sleep(0.01)
    waited = time.monotonic() - queued
    env.worker_shutdown()
    assert await task == {"delivered": 1, "failed": 0, "batches": 1}
    assert waited < 5, f"sent {waited:.1f} s after it was queued"


async def test_one_row_per_reservation_per_batch_in_order(seed, pool, env):
    first = await seed.reservation()
    second = await seed.reservation()
    for kind in ("ACCEPTED", "CONFIRMED", "CANCELLED"):
        await seed.notification(first, kind)
    await seed.notification(second, "REJECTED")

    batch = await outbox.claim_for_drain(pool, scope=seed.scope)
    assert [(c.reservation_id, c.kind) for c in batch] == [(first, "ACCEPTED"), (second, "REJECTED")]
    await outbox.release(pool, *batch)

    sender = RecordingSender()
    result = await drain_until(env, drain(pool, seed, sender), lambda: len(sender.sent) == 4)

    assert result["delivered"] == 4 and result["batches"] == 3
    assert [k for k in sender.keys() if k.startswith(f"tshop-{first}")] == [
        f"tshop-{first}-ACCEPTED", f"tshop-{first}-CONFIRMED", f"tshop-{first}-CANCELLED"
    ]
    assert env.heartbeats and env.heartbeats[-1][0]["delivered"] == 4


async def test_respects_the_rate(seed, pool, env):
    for _ in range(10):
        await seed.notification(await seed.reservation(), "ACCEPTED")
    sender = RecordingSender()
    started = asyncio.get_running_loop().time()

    result = await drain_until(env, drain(pool, seed, sender, rate=20), lambda: len(sender.sent) == 10)

    assert result["delivered"] == 10
    # Never a burst: by the time the k-th message goes out, at least k intervals of 1/20 s have passed.
    # (A send can start late, never early, so this holds without a tolerance for scheduling jitter.)
    times = sorted(t for t, _, _ in sender.sent)
    assert all(t >= started + k / 20 for k, t in enumerate(times)), [round(t - started, 3) for t in times]


async def test_sends_concurrently_without_a_rate(seed, pool, env):
    for _ in range(16):
        await seed.notification(await seed.reservation(), "ACCEPTED")
    sender = RecordingSender()
    in_flight = 0
    all_in = asyncio.Event()

    async def hold_until_all_sixteen_are_in_flight(key: str) -> None:
        # One at a time, the first send would wait here for ever (pytest-timeout fails the test).
        nonlocal in_flight
        in_flight += 1
        if in_flight == 16:
            all_in.set()
        await all_in.wait()

    sender.before = hold_until_all_sixteen_are_in_flight

    result = await drain_until(env, drain(pool, seed, sender, rate=0), lambda: len(sender.sent) == 16)

    assert result["delivered"] == 16 and in_flight == 16


async def test_returns_at_max_ms_heartbeating_while_idle(seed, pool, env):
    started = time.monotonic()

    result = await env.run(drain(pool, seed, RecordingSender()).notify_pending, {"maxMs": 300, "idleMs": 50})

    assert result == {"delivered": 0, "failed": 0, "batches": 0}
    assert time.monotonic() - started >= 0.3  # never before maxMs (pytest-timeout bounds it from above)
    assert env.heartbeats  # every idle pause heartbeats


async def test_an_unavailable_endpoint_makes_it_back_off_not_fail(seed, pool, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    sender = RecordingSender()
    sender.fail_with = KakaoUnavailable("KAKAO_UNAVAILABLE: HTTP 503")
    attempts_before = (await seed.row(nid))["attempts"]
    heartbeats_at_try: list[int] = []

    async def note_heartbeats(key: str) -> None:
        heartbeats_at_try.append(len(env.heartbeats))

    sender.before = note_heartbeats
    activities = drain(pool, seed, sender, heartbeat_every=0.1)

    result = await drain_until(env, activities, lambda: len(sender.tried) >= 2)

    assert result["delivered"] == 0 and result["failed"] == 0 and result["batches"] >= 2
    row = await seed.row(nid)
    assert row["sent_at"] is None and row["failed_at"] is None and row["claimed_until"] is None
    assert row["attempts"] == attempts_before + len(sender.tried)
    assert sender.tried == [f"tshop-{rid}-ACCEPTED"] * len(sender.tried)  # never the later one first
    # The first back-off (1 s) heartbeats every 0.1 s: its ten steps lie between the two tries.
    assert heartbeats_at_try[1] - heartbeats_at_try[0] >= 10, heartbeats_at_try
    # However long the endpoint stays down, a back-off stays well inside the heartbeat time-out.
    assert notifier_activities.MAX_BACKOFF_SECONDS <= DRAIN_HEARTBEAT_TIMEOUT / 2

    sender.fail_with = None
    result = await drain_until(recording_env(), drain(pool, seed, sender), lambda: len(sender.sent) == 2)
    assert result["delivered"] == 2 and sender.keys() == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]


async def test_cancellation_ends_it_promptly_and_gives_claims_back(seed, pool, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "ACCEPTED")
    sender = RecordingSender()
    sending = asyncio.Event()

    async def hang(key: str) -> None:  # a send that never ends unless cancelled
        sending.set()
        await asyncio.Event().wait()

    sender.before = hang
    task = asyncio.ensure_future(env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 600_000, "idleMs": 50}))
    await sending.wait()

    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # it ends: a send that ignored the cancellation would hang here (pytest-timeout)

    row = await seed.row(nid)
    assert row["sent_at"] is None and row["claimed_until"] is None


async def test_worker_shutdown_ends_it_early_with_its_totals(seed, pool, env):
    task = asyncio.ensure_future(env.run(drain(pool, seed, RecordingSender()).notify_pending, {"maxMs": 600_000, "idleMs": 600_000}))
    while not env.heartbeats:  # it heartbeats as its (ten-minute) idle pause begins
        await asyncio.sleep(0.01)

    env.worker_shutdown()

    assert await task == {"delivered": 0, "failed": 0, "batches": 0}  # woken at once, not after the pause


async def test_replicas_racing_send_each_message_once_in_order(seed, pool):
    reservations = [await seed.reservation() for _ in range(4)]
    kinds = ("ACCEPTED", "CONFIRMED", "REMINDER", "COMPLETED")
    for rid in reservations:
        for kind in kinds:
            await seed.notification(rid, kind)
    sender = RecordingSender()
    sender.delay = 0.01
    everything = len(reservations) * len(kinds)

    await asyncio.gather(
        *(drain_until(recording_env(), drain(pool, seed, sender), lambda: len(sender.sent) >= everything, idleMs=10) for _ in range(3))
    )

    keys = sender.keys()
    assert sorted(keys) == sorted(f"tshop-{rid}-{kind}" for rid in reservations for kind in kinds)  # each once
    for rid in reservations:
        assert [k for k in keys if k.startswith(f"tshop-{rid}-")] == [f"tshop-{rid}-{kind}" for kind in kinds]


def lease_checker(seed, sender: RecordingSender) -> list[tuple[str, bool]]:
    """As each send starts, whether its row's lease is live in the database, by key."""
    seen: list[tuple[str, bool]] = []

    async def check(key: str) -> None:
        _, rid, kind = key.split("-")
        [row] = await seed.query(
            "select claimed_until > now() as live from notifications where reservation_id = %s and kind = %s", (rid, kind)
        )
        seen.append((key, row["live"]))

    sender.before = check
    return seen


async def test_a_row_is_never_sent_after_its_lease_ended(seed, pool, env):
    """At 2 messages a second, a batch of 6 takes 2.5 s to go out: a 2 s lease taken for the batch at
    its claim would have ended before its last sends."""
    for _ in range(6):
        await seed.notification(await seed.reservation(), "ACCEPTED")
    sender = RecordingSender()
    leases = lease_checker(seed, sender)

    result = await drain_until(env, drain(pool, seed, sender, rate=2, lease_seconds=2.0), lambda: len(sender.sent) == 6)

    assert result["delivered"] == 6 and result["batches"] == 1
    assert [live for _, live in leases] == [True] * 6, leases


@pytest.mark.parametrize(
    ("mode", "halt_codes", "error"),
    [
        ("http401", DEFAULT_HALT_CODES, "KAKAO_MISCONFIGURED: -1001 Invalid secretKey. (HTTP 401)"),
        ("unregistered_template", DEFAULT_HALT_CODES | {UNREGISTERED_TEMPLATE}, f"KAKAO_MISCONFIGURED: {UNREGISTERED_TEMPLATE} Unregistered template (HTTP 200)"),
    ],
    ids=["rotated-key", "halt-code"],
)
async def test_a_refusal_of_every_message_stops_the_drain_and_every_row_stays_pending(seed, pool, env, kakao, caplog, mode, halt_codes, error):
    """A rotated key (401), or a result code that refuses every message alike (KAKAO_HALT_CODES: an
    unregistered template), is no message's fault: none is failed for it; the drain fails, loudly,
    and the next run tries again."""
    rows = [await seed.notification(await seed.reservation(), "ACCEPTED") for _ in range(20)]
    kakao.mode = mode
    sender = KakaoSender(kakao.url, "sender-key-1", "secret-1", timeout=5, halt_codes=halt_codes)
    try:
        with pytest.raises(ApplicationError) as raised, caplog.at_level(logging.ERROR):
            await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 600_000, "idleMs": 20})

        assert raised.value.type == "KakaoMisconfigured" and not raised.value.non_retryable  # Temporal retries it
        assert raised.value.message == error
        for nid in rows:
            row = await seed.row(nid)
            assert (row["sent_at"], row["failed_at"], row["claimed_until"], row["error"]) == (None, None, None, None)
        assert len(kakao.requests) <= notifier_activities.DRAIN_CONCURRENCY  # no request after the first refusal came back
        [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "kakao refuses every message" in line.getMessage()

        kakao.mode = "ok"
        result = await drain_until(recording_env(), drain(pool, seed, sender), lambda: len(kakao.inbox) == 20)
    finally:
        await sender.aclose()
    assert result["delivered"] == 20 and result["failed"] == 0


@pytest.mark.parametrize("input", [{"maxMs": -1}, {"idleMs": "1000"}, {"maxMs": True}])
async def test_bad_input_is_not_retried(pool, seed, env, input):
    with pytest.raises(ApplicationError) as error:
        await env.run(drain(pool, seed, RecordingSender()).notify_pending, input)
    assert error.value.type == "InvalidInput" and error.value.non_retryable
