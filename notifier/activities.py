"""The Temporal activity `notifyPending`: the drain, which delivers every customer message.

A Schedule keeps one drain always running (workers/schedules.ts); it sends each row of the
outbox as it is queued (the queuing statement wakes it), oldest first per reservation. No
workflow waits for it, and no other activity sends.

Its input and result are JSON objects with camelCase keys, as the TypeScript workflow sends and
reads them. They carry counts only: names and phone numbers are read from the database at send
time and never enter workflow history or the logs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import outbox
from .kakao import KakaoMisconfigured, KakaoRejected, KakaoUnavailable, Sender, build_request, dedupe_key, normalise_phone
from .log import activity_log
from .templates import TemplateError, render

NO_RECIPIENT = "NO_RECIPIENT: no phone number on file"
DRAIN_CONCURRENCY = 16
# The drain's heartbeat time-out is 30 s (app/notification/workflow.ts): a back-off stays well below
# it, and a pause of any length heartbeats every HEARTBEAT_EVERY.
MAX_BACKOFF_SECONDS = 10.0
HEARTBEAT_EVERY = 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    kind: str
    # SENT | FAILED | UNAVAILABLE | MISCONFIGURED | SKIPPED (settled meanwhile by another
    # deliverer, or left for later) | LOST (another deliverer claimed it after our lease ran out)
    status: str


class RateLimiter:
    """Spaces sends evenly at `per_second` (0: no limit), shared by every drain in this process."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class NotifierActivities:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        sender: Sender,
        *,
        rate_per_second: float = 100,
        drain_concurrency: int = DRAIN_CONCURRENCY,
        drain_scope: str | None = None,
        lease_seconds: float = outbox.LEASE_SECONDS,
        heartbeat_every: float = HEARTBEAT_EVERY,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._limiter = RateLimiter(rate_per_second)
        self._rate = rate_per_second
        self._drain_concurrency = drain_concurrency
        # A LIKE pattern on reservation ids; only tests set it, so a shared database's other
        # rows are never the drain's under test.
        self._drain_scope = drain_scope
        self._lease = lease_seconds
        # A send, of any sender, ends within half the lease it was started under: no other
        # deliverer can claim the row while it is on its way.
        self._send_limit = lease_seconds / 2
        self._heartbeat_every = heartbeat_every

    def all(self) -> list[Any]:
        return [self.notify_pending]

    @activity.defn(name="notifyPending")
    async def notify_pending(self, input: dict[str, Any] | None = None) -> dict[str, Any]:
        """Delivers pending rows for `maxMs`, waking on each row queued (`idleMs` bounds a wake-up
        lost with its connection); returns how many it delivered and failed, in how many batches."""
        max_ms = _number(input, "maxMs", 50_000)
        idle_ms = _number(input, "idleMs", 1_000)
        deadline = asyncio.get_running_loop().time() + max_ms / 1000
        totals = {"delivered": 0, "failed": 0, "batches": 0}
        async with outbox.listening(self._pool) as woken:
            await self._drain_until(deadline, idle_ms / 1000, totals, woken)
        return totals

    async def _drain_until(self, deadline: float, idle: float, totals: dict[str, int], woken: Callable[[float], Awaitable[bool]]) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.0
        # A worker shutting down lets the drain finish its batch and return: the caller starts another.
        while not activity.is_worker_shutdown():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            limit = self._batch_size(remaining)
            # The lease covers the batch at the rate, so no replica takes rows still queued here
            # (each send renews its row's lease anyway).
            lease = self._lease + (limit / self._rate if self._rate > 0 else 0)
            rows = await outbox.claim_for_drain(self._pool, limit, self._drain_scope, lease)
            if not rows:
                # Woken by the next row queued; `idle` only bounds a notification lost with its connection.
                await self._pause(min(idle, remaining), totals, woken)
                continue
            outcomes = await self._drain_batch(rows, totals)
            totals["batches"] += 1
            activity.heartbeat(dict(totals))
            if any(o.status == "UNAVAILABLE" for o in outcomes):
                backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF_SECONDS)
                activity_log("warn", "kakao unavailable, drain backing off", seconds=backoff)
                await self._pause(min(backoff, deadline - loop.time()), totals)
            else:
                backoff = 0.0

    async def _pause(self, seconds: float, totals: dict[str, int], woken: Callable[[float], Awaitable[bool]] | None = None) -> None:
        """Sleeps in steps of at most `heartbeat_every`, heartbeating before each, so that no pause
        lets the heartbeat time-out lapse; wakes at once when the worker starts shutting down, or
        (given `woken`) when a row is queued."""
        if seconds <= 0:
            return
        steps = max(1, math.ceil(seconds / self._heartbeat_every))
        for _ in range(steps):
            activity.heartbeat(dict(totals))
            shutdown = asyncio.ensure_future(activity.wait_for_worker_shutdown())
            waits = {shutdown} | ({asyncio.ensure_future(woken(seconds / steps))} if woken else set())
            try:
                done, _ = await asyncio.wait(waits, timeout=seconds / steps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
                await asyncio.gather(*waits, return_exceptions=True)
            if shutdown in done or any(not t.cancelled() and t.result() is True for t in done):
                return

    def _batch_size(self, remaining: float) -> int:
        # No more than the rate lets out before the deadline, so a slow rate cannot overrun maxMs.
        if self._rate <= 0:
            return outbox.DRAIN_BATCH
        return max(1, min(outbox.DRAIN_BATCH, int(remaining * self._rate)))

    async def _drain_batch(self, rows: list[outbox.Claimed], totals: dict[str, int]) -> list[Outcome]:
        """Delivers a batch (one row per reservation) concurrently, counting into `totals` as it goes."""
        gate = asyncio.Semaphore(self._drain_concurrency)
        stop = asyncio.Event()  # the endpoint is down or refuses us: the rows not yet sent wait
        halted: list[KakaoMisconfigured] = []

        def count(outcome: Outcome) -> Outcome:
            totals["delivered"] += outcome.status == "SENT"
            totals["failed"] += outcome.status == "FAILED"
            # Also within a batch: a slow endpoint must not let the heartbeat time-out lapse.
            activity.heartbeat(dict(totals))
            return outcome

        async def one(row: outbox.Claimed) -> Outcome:
            delivering = False
            try:
                async with gate:
                    if not stop.is_set():
                        await self._limiter.wait()
                    if stop.is_set():
                        return Outcome(row.kind, "SKIPPED")  # released below, for after the back-off
                    delivering = True  # from here on _deliver settles or releases the row itself
                    return count(await self._deliver(row))
            except KakaoUnavailable:
                stop.set()
                return Outcome(row.kind, "UNAVAILABLE")
            except KakaoMisconfigured as error:
                stop.set()
                halted.append(error)
                return Outcome(row.kind, "MISCONFIGURED")
            finally:
                if not delivering:  # skipped, or cancelled before its turn: give it back now
                    await _to_the_end(outbox.release(self._pool, row))

        # Every task ends (settled or released) before an unexpected error (the database) fails the activity.
        results = await asyncio.gather(*(one(row) for row in rows), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        if halted:
            # Every row stays pending; the drain's workflow fails, visibly, and its next run tries again.
            raise _misconfigured(halted[0])
        return [r for r in results if isinstance(r, Outcome)]

    async def _deliver(self, row: outbox.Claimed) -> Outcome:
        """Renders, sends and settles one claimed row. Raises KakaoUnavailable or KakaoMisconfigured
        with the row given back; a cancellation after the send still records it as sent."""
        contact = row.contact
        try:
            rendered = render(outbox.facts_of(row.row), contact.name)
        except TemplateError as error:
            return await self._failed(row, f"TEMPLATE: {error}")
        except Exception as error:
            # Data no template expects (a date out of range, …): this row fails alone, for good,
            # and the ones after it still go; retrying it would fail every time.
            return await self._failed(row, f"MALFORMED: {type(error).__name__}: {error}")
        phone = normalise_phone(contact.phone)
        if phone is None:
            return await self._failed(row, NO_RECIPIENT, rendered=rendered)
        key = dedupe_key(row.reservation_id, row.kind)
        body = build_request(rendered, phone, self._sender.sender_key, key)
        try:
            if not await outbox.renew(self._pool, row, self._lease):
                activity_log("warn", "notification claimed by another deliverer", reservationId=row.reservation_id, kind=row.kind)
                return Outcome(row.kind, "LOST")
            async with asyncio.timeout(self._send_limit):
                await self._sender.send(body, key)
        except KakaoRejected as error:
            return await self._failed(row, str(error), rendered=rendered, channel=self._sender.channel, request=body)
        except (KakaoUnavailable, TimeoutError) as error:
            await _to_the_end(outbox.release(self._pool, row))
            activity_log("warn", "kakao unavailable", reservationId=row.reservation_id, kind=row.kind, attempts=row.attempts)
            if isinstance(error, KakaoUnavailable):
                raise
            raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: no answer within {self._send_limit:g} s") from error
        except BaseException:
            # Cancelled mid-call, refused as a whole, the database: the message may or may not
            # have gone; the same key makes a resend safe.
            await _to_the_end(outbox.release(self._pool, row))
            raise
        # The message went: this is recorded even if the activity is cancelled now, or the row
        # would go back to pending and be sent again.
        settled = await _to_the_end(outbox.settle_sent(self._pool, row, self._sender.channel, rendered, body))
        activity_log(
            "info" if settled else "warn",
            "notification sent" if settled else "notification sent, but another deliverer settled it first",
            reservationId=row.reservation_id,
            kind=row.kind,
            templateCode=rendered.template_code,
            channel=self._sender.channel,
            attempts=row.attempts,
        )
        return Outcome(row.kind, "SENT" if settled else "SKIPPED")

    async def _failed(self, row: outbox.Claimed, error: str, **rendered: Any) -> Outcome:
        settled = await _to_the_end(outbox.settle_failed(self._pool, row, error, **rendered))
        # The error text may quote the endpoint or the data; log only its code, never what it says of the recipient.
        activity_log("warn", "notification failed", reservationId=row.reservation_id, kind=row.kind, error=error.split(":", 1)[0])
        return Outcome(row.kind, "FAILED" if settled else "SKIPPED")


def _misconfigured(error: KakaoMisconfigured) -> ApplicationError:
    # An operator's problem, not a message's: an error line, and the activity fails (retried
    # later, visible in the Web UI) while every row stays pending.
    activity_log("error", "kakao refuses every message: sending stopped until it is put right", error=str(error).split(":", 1)[0], detail=str(error))
    return ApplicationError(str(error), type="KakaoMisconfigured")


async def _to_the_end(awaitable: Awaitable[T]) -> T:
    """Runs a settle or release to its end even when the activity is cancelled meanwhile, then
    passes the cancellation on."""
    task = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                pass
        raise


def _number(input: Any, key: str, default: int) -> int:
    value = input.get(key) if isinstance(input, dict) else None
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ApplicationError(f"{key} must be a number of milliseconds >= 0", type="InvalidInput", non_retryable=True)
    return int(value)
