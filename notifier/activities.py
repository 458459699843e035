"""The two Temporal activities: `notifyCustomer` (a reservation's workflow delivers its own rows)
and `notifyPending` (the drain: rows no workflow will deliver).

Inputs and results are JSON objects with camelCase keys, as the TypeScript workflows send and
read them. They carry ids, counts and kinds only: names and phone numbers are read from the
database at send time and never enter workflow history or the logs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import outbox
from .kakao import KakaoRejected, KakaoUnavailable, Sender, build_request, dedupe_key, normalise_phone
from .log import log
from .templates import TemplateError, render

NO_RECIPIENT = "NO_RECIPIENT: no phone number on file"
DRAIN_CONCURRENCY = 16
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: str  # SENT | FAILED | UNAVAILABLE | SKIPPED (settled meanwhile by another deliverer, or left for later)

    @property
    def settled(self) -> bool:
        return self.status in ("SENT", "FAILED")


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
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._limiter = RateLimiter(rate_per_second)
        self._rate = rate_per_second
        self._drain_concurrency = drain_concurrency
        # A LIKE pattern on reservation ids; only tests set it, so a shared database's other
        # rows are never the drain's under test.
        self._drain_scope = drain_scope

    def all(self) -> list[Any]:
        return [self.notify_customer, self.notify_pending]

    @activity.defn(name="notifyCustomer")
    async def notify_customer(self, input: dict[str, Any]) -> dict[str, Any]:
        """Sends what the reservation's customer has not been sent yet, oldest first. Messages queued
        while it runs are the next call's: the workflow makes one for every change it tells of."""
        reservation_id = _reservation_id(input)
        while not (claimed := await outbox.claim_for_reservation(self._pool, reservation_id)):
            pending = await outbox.oldest_pending(self._pool, reservation_id)
            if pending is None:
                return {"delivered": 0, "failed": 0, "kinds": []}
            if pending.claimed:
                raise ApplicationError(
                    f"notification {pending.id} of reservation {reservation_id} is being delivered by another deliverer",
                    type="DeliveryInProgress",
                )
            await asyncio.sleep(0.05)  # its lease ended just now: claim it on the next turn
        outcomes: list[Outcome] = []
        try:
            for row in claimed:
                outcomes.append(await self._deliver(row))
        except BaseException as error:
            # The rows not reached go back, still pending, for the retry (in order: the oldest first).
            for row in claimed[len(outcomes) + 1 :]:
                await asyncio.shield(outbox.release(self._pool, row.id))
            if isinstance(error, KakaoUnavailable):
                raise ApplicationError(str(error), type="KakaoUnavailable") from error
            raise
        settled = [o for o in outcomes if o.settled]
        return {
            "delivered": sum(o.status == "SENT" for o in settled),
            "failed": sum(o.status == "FAILED" for o in settled),
            "kinds": [o.kind for o in settled],
        }

    @activity.defn(name="notifyPending")
    async def notify_pending(self, input: dict[str, Any] | None = None) -> dict[str, Any]:
        max_ms = _number(input, "maxMs", 50_000)
        idle_ms = _number(input, "idleMs", 1_000)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_ms / 1000
        totals = {"delivered": 0, "failed": 0, "batches": 0}
        backoff = 0.0
        # A worker shutting down lets the drain finish its batch and return: the caller starts another.
        while not activity.is_worker_shutdown():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            rows = await outbox.claim_for_drain(self._pool, self._batch_size(remaining), self._drain_scope)
            if not rows:
                activity.heartbeat(dict(totals))
                await _pause(min(idle_ms / 1000, remaining))
                continue
            outcomes = await self._drain_batch(rows, totals)
            totals["batches"] += 1
            activity.heartbeat(dict(totals))
            if any(o.status == "UNAVAILABLE" for o in outcomes):
                backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF_SECONDS)
                log("warn", "kakao unavailable, drain backing off", seconds=backoff)
                await _pause(min(backoff, deadline - loop.time()))
            else:
                backoff = 0.0
        return totals

    def _batch_size(self, remaining: float) -> int:
        # No more than the rate lets out before the deadline, so a slow rate cannot overrun maxMs.
        if self._rate <= 0:
            return outbox.DRAIN_BATCH
        return max(1, min(outbox.DRAIN_BATCH, int(remaining * self._rate)))

    async def _drain_batch(self, rows: list[outbox.Claimed], totals: dict[str, int]) -> list[Outcome]:
        """Delivers a batch (one row per reservation) concurrently, counting into `totals` as it goes."""
        gate = asyncio.Semaphore(self._drain_concurrency)
        endpoint_down = asyncio.Event()

        def count(outcome: Outcome) -> Outcome:
            totals["delivered"] += outcome.status == "SENT"
            totals["failed"] += outcome.status == "FAILED"
            # Also within a batch: a slow endpoint must not let the heartbeat time-out lapse.
            activity.heartbeat(dict(totals))
            return outcome

        async def one(row: outbox.Claimed) -> Outcome:
            done = False
            try:
                async with gate:
                    if not endpoint_down.is_set():
                        await self._limiter.wait()
                    if endpoint_down.is_set():
                        return Outcome(row.kind, "SKIPPED")  # released below, for after the back-off
                    outcome = await self._deliver(row)
                    done = True
                    return count(outcome)
            except KakaoUnavailable:
                endpoint_down.set()
                done = True  # _deliver gave the row back already
                return Outcome(row.kind, "UNAVAILABLE")
            finally:
                if not done:  # skipped, cancelled or failed before settling: give it back now
                    await asyncio.shield(outbox.release(self._pool, row.id))

        # Every task ends (settled or released) before an unexpected error (the database) fails the activity.
        results = await asyncio.gather(*(one(row) for row in rows), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        return [r for r in results if isinstance(r, Outcome)]

    async def _deliver(self, row: outbox.Claimed) -> Outcome:
        """Renders, sends and settles one claimed row; raises KakaoUnavailable with the row released."""
        contact = row.contact
        try:
            rendered = render(outbox.facts_of(row.row), contact.name)
        except TemplateError as error:
            return await self._failed(row, f"TEMPLATE: {error}")
        phone = normalise_phone(contact.phone)
        if phone is None:
            return await self._failed(row, NO_RECIPIENT, rendered=rendered)
        key = dedupe_key(row.reservation_id, row.kind)
        body = build_request(rendered, phone, self._sender.sender_key, key)
        try:
            await self._sender.send(body, key)
        except KakaoRejected as error:
            return await self._failed(row, str(error), rendered=rendered, channel=self._sender.channel, request=body)
        except KakaoUnavailable:
            await asyncio.shield(outbox.release(self._pool, row.id))
            log("warn", "kakao unavailable", reservationId=row.reservation_id, kind=row.kind, attempts=row.attempts)
            raise
        except BaseException:
            # Cancelled mid-call: the message may or may not have gone; the same key makes a resend safe.
            await asyncio.shield(outbox.release(self._pool, row.id))
            raise
        settled = await outbox.settle_sent(self._pool, row.id, self._sender.channel, rendered, body)
        log(
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
        settled = await outbox.settle_failed(self._pool, row.id, error, **rendered)
        # The error text may quote the endpoint; log only its code, never what it says of the recipient.
        log("warn", "notification failed", reservationId=row.reservation_id, kind=row.kind, error=error.split(":", 1)[0])
        return Outcome(row.kind, "FAILED" if settled else "SKIPPED")


async def _pause(seconds: float) -> None:
    """Sleeps, but wakes at once when the worker starts shutting down."""
    if seconds <= 0:
        return
    try:
        await asyncio.wait_for(activity.wait_for_worker_shutdown(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def _reservation_id(input: Any) -> str:
    reservation_id = input.get("reservationId") if isinstance(input, dict) else None
    if not isinstance(reservation_id, str) or not 0 < len(reservation_id) <= 200:
        raise ApplicationError("input must be {\"reservationId\": \"<id>\"}", type="InvalidInput", non_retryable=True)
    return reservation_id


def _number(input: Any, key: str, default: int) -> int:
    value = input.get(key) if isinstance(input, dict) else None
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ApplicationError(f"{key} must be a number of milliseconds >= 0", type="InvalidInput", non_retryable=True)
    return int(value)
