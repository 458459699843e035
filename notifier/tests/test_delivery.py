"""What the drain (notifyPending) does with each message: what it sends and records, how a message
fails, and how a claim keeps it from going twice or out of order. Against the test PostgreSQL;
tests wait for the drain's outcome, and show what it does not do over a brief run."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator

import pytest

from notifier import outbox
from notifier.activities import NO_RECIPIENT
from notifier.kakao import KakaoSender, SinkSender, build_request, dedupe_key
from notifier.log import setup_logging
from notifier.templates import render
from notifier.tests.conftest import (
    drain,
    drain_briefly,
    drain_until,
    full_facts,
    recording_env,
    sender_cancelled_at_settle,
    settled,
)
from notifier.tests.fakes import RecordingSender

pytestmark = pytest.mark.usefixtures("database_url")
# A deadline the templates cannot write in Korea time (OverflowError, not a TemplateError).
OUT_OF_RANGE = "9999-12-31T23:00:00.000Z"


@pytest.fixture
async def kakao_sender(kakao) -> AsyncIterator[KakaoSender]:
    sender = KakaoSender(kakao.url, "sender-key-1", "secret-1", timeout=2)
    try:
        yield sender
    finally:
        await sender.aclose()


async def lapse_lease(seed, notification_id: int) -> None:
    await seed.sql("update notifications set claimed_until = now() - interval '1 second' where id = %s", (notification_id,))


async def test_a_reservations_messages_go_oldest_first_once_each_and_are_recorded(seed, pool, kakao, kakao_sender, env):
    rid = await seed.reservation()
    for kind in ("ACCEPTED", "CONFIRMED", "REMINDER"):
        await seed.notification(rid, kind)
    activities = drain(pool, seed, kakao_sender)

    result = await drain_until(env, activities, settled(env, 3))

    assert result["delivered"] == 3 and result["failed"] == 0
    assert [m["templateCode"] for m in kakao.inbox] == ["TSHOP_ACCEPTED", "TSHOP_CONFIRMED", "TSHOP_REMINDER"]
    rows = await seed.rows(rid)
    assert all(r["sent_at"] is not None and r["claimed_until"] is None and r["failed_at"] is None for r in rows)
    assert [r["sent_at"] for r in rows] == sorted(r["sent_at"] for r in rows)
    assert [r["channel"] for r in rows] == ["kakao"] * 3
    assert [r["request"] for r in rows] == [received.body for received in kakao.requests]
    assert rows[1]["template_code"] == "TSHOP_CONFIRMED" and "강남역점" in rows[1]["message_ko"]
    assert rows[1]["message_en"].startswith("[Tshop] Reservation")

    again = await drain_briefly(recording_env(), activities)

    assert again == {"delivered": 0, "failed": 0, "batches": 0}
    assert len(kakao.requests) == 3


async def test_a_crash_between_sending_and_settling_resends_with_the_same_key(seed, pool, kakao, kakao_sender, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "CONFIRMED")
    # A first drain claims and posts, then dies before settling: its lease runs out.
    [claimed] = await outbox.claim_for_drain(pool, scope=seed.scope)
    assert claimed.id == nid
    rendered = render(outbox.facts_of(claimed.row), "김민수")
    key = dedupe_key(rid, "CONFIRMED")
    await kakao_sender.send(build_request(rendered, "01012345678", "sender-key-1", key), key)
    await lapse_lease(seed, nid)

    result = await drain_until(env, drain(pool, seed, kakao_sender), settled(env, 1))

    assert result["delivered"] == 1
    assert [r.headers["x-nc-api-idempotency-key"] for r in kakao.requests] == [key, key]
    assert len(kakao.inbox) == 1  # the endpoint dropped the repeat: the customer sees one message
    row = await seed.row(nid)
    assert row["sent_at"] is not None and row["attempts"] == 2


async def test_a_refused_message_fails_for_good_and_the_next_one_still_goes(seed, pool, kakao, kakao_sender, env):
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    kakao.mode = "http400"

    result = await drain_until(env, drain(pool, seed, kakao_sender), settled(env, 2))

    assert result["delivered"] == 0 and result["failed"] == 2
    assert [r.headers["x-nc-api-idempotency-key"] for r in kakao.requests] == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]
    row = await seed.row(first)
    assert row["failed_at"] is not None and row["sent_at"] is None and row["claimed_until"] is None
    assert row["error"] == "KAKAO_REJECTED: 4 Invalid template parameter (HTTP 400)"
    assert row["template_code"] == "TSHOP_ACCEPTED" and row["channel"] == "kakao" and row["request"] is not None


async def test_no_phone_number_fails_without_sending(seed, pool, env):
    rid = await seed.reservation(phone=None)
    nid = await seed.notification(rid, "ACCEPTED")
    sender = RecordingSender()

    result = await drain_until(env, drain(pool, seed, sender), settled(env, 1))

    assert result["delivered"] == 0 and result["failed"] == 1
    assert sender.tried == []
    row = await seed.row(nid)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert row["error"] == NO_RECIPIENT == "NO_RECIPIENT: no phone number on file"
    assert row["template_code"] == "TSHOP_ACCEPTED" and row["message_ko"].startswith("[Tshop]")
    assert row["request"] is None


async def test_a_malformed_row_is_failed_alone_and_the_next_ones_still_go(seed, pool, env):
    """A hold deadline in the year 9999 used to fail the drain on every run, the rows after it
    never sent."""
    rid = await seed.reservation()
    bad = await seed.notification(rid, "REMINDER", full_facts("REMINDER", holdUntil=OUT_OF_RANGE))
    await seed.notification(rid, "EXPIRED")
    other = await seed.reservation()
    await seed.notification(other, "ACCEPTED")
    sender = RecordingSender()

    result = await drain_until(env, drain(pool, seed, sender), settled(env, 3))

    assert result["failed"] == 1 and result["delivered"] == 2
    row = await seed.row(bad)
    assert row["failed_at"] is not None and row["error"] == "MALFORMED: OverflowError: date value out of range"
    assert sorted(sender.keys()) == sorted([f"tshop-{rid}-EXPIRED", f"tshop-{other}-ACCEPTED"])


async def test_the_sink_records_exactly_the_request_that_would_be_sent(seed, pool, env):
    rid = await seed.reservation(name=None, phone="010-9876-5432")
    nid = await seed.notification(rid, "CONFIRMED", full_facts("CONFIRMED", fallback=True, storeId="central-online",
                                                                 storeName="Tshop 온라인 중앙센터", distanceKm=None))

    result = await drain_until(env, drain(pool, seed, SinkSender(None)), settled(env, 1))

    assert result["delivered"] == 1
    row = await seed.row(nid)
    claimed = {"reservation_id": rid, "kind": "CONFIRMED", "payload": row["payload"]}
    rendered = render(outbox.facts_of(claimed), None)
    expected = build_request(rendered, "01098765432", None, f"tshop-{rid}-CONFIRMED")
    assert row["channel"] == "sink" and row["sent_at"] is not None
    assert row["request"] == expected
    assert row["request"]["senderKey"] is None
    assert row["template_code"] == "TSHOP_DELIVERY"
    assert row["message_ko"] == rendered.text_ko and "고객님" in row["message_ko"]
    assert row["message_en"] == rendered.text_en == row["request"]["recipientList"][0]["resendParameter"]["resendContent"]


async def test_older_rows_take_their_missing_facts_from_the_read_model(seed, pool, env):
    rid = await seed.reservation(store_name="역삼점", distance_km=0.4)
    nid = await seed.notification(rid, "CONFIRMED", {"status": "CONFIRMED", "storeId": "yeoksam-02", "fulfilment": "PICKUP"})

    await drain_until(env, drain(pool, seed, SinkSender("sk")), settled(env, 1))

    row = await seed.row(nid)
    assert row["template_code"] == "TSHOP_CONFIRMED"
    parameters = row["request"]["recipientList"][0]["templateParameter"]
    assert parameters["상품명"] == "Galaxy Test 256GB"
    assert parameters["대리점명"] == "역삼점" and parameters["거리"] == "0.4km"
    assert parameters["수령기한"] == "2026-12-03 18:00"
    assert row["request"]["senderKey"] == "sk"


async def test_its_results_heartbeats_and_log_lines_hold_no_contact_and_lines_name_the_workflow(seed, pool, kakao_sender, env, capsys):
    rid = await seed.reservation(name="홍길동", phone="010-5555-0199")
    await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "REMINDER", full_facts("REMINDER", holdUntil=OUT_OF_RANGE))
    workflow_id = "tshop-notify-drain-2026-12-07T23:00:00Z"
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id, attempt=3, activity_type="notifyPending")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("info")
    try:
        result = await drain_until(env, drain(pool, seed, kakao_sender), settled(env, 2))
    finally:
        root.handlers[:], root.level = handlers, level

    assert result["delivered"] == 1 and result["failed"] == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    sent = next(line for line in lines if line["msg"] == "notification sent")
    failed = next(line for line in lines if line["msg"] == "notification failed")
    for line in (sent, failed):
        assert line["workflowId"] == workflow_id and line["attempt"] == 3 and line["activityType"] == "notifyPending"
        assert line["reservationId"] == rid
    assert failed["error"] == "MALFORMED"
    for personal in ("홍길동", "010-5555-0199", "01055550199"):
        assert personal not in json.dumps([result, env.heartbeats, lines], ensure_ascii=False)
    assert "5555" not in json.dumps([result, env.heartbeats], ensure_ascii=False)


async def test_a_row_another_deliverer_holds_is_not_sent_and_the_later_ones_wait_behind_it(seed, pool, env):
    rid = await seed.reservation()
    held = await seed.notification(rid, "ACCEPTED")
    later = await seed.notification(rid, "CONFIRMED")
    await seed.sql("update notifications set claimed_until = now() + interval '30 seconds' where id = %s", (held,))
    # Queued after them: any claim that took it had passed over them.
    other = await seed.reservation()
    await seed.notification(other, "ACCEPTED")
    sender = RecordingSender()
    activities = drain(pool, seed, sender)

    await drain_until(env, activities, lambda: len(sender.sent) == 1)
    again = await drain_briefly(recording_env(), activities)

    assert sender.tried == [f"tshop-{other}-ACCEPTED"] and again["delivered"] == 0
    assert [(r["sent_at"], r["attempts"]) for r in await seed.rows(rid)] == [(None, 0), (None, 0)]

    # The other deliverer gives it back (its send failed): both go, in order.
    await seed.sql("update notifications set claimed_until = null where id = %s", (held,))
    result = await drain_until(recording_env(), activities, lambda: len(sender.sent) == 3)

    assert result["delivered"] == 2
    assert sender.keys()[1:] == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]
    assert (await seed.row(later))["sent_at"] is not None


async def test_a_row_claimed_by_another_deliverer_after_its_lease_ran_out_is_theirs(seed, pool, env, monkeypatch, caplog):
    """A drain stalled past its lease on the first row, and another deliverer claimed it: the drain
    sends neither it nor (out of order) the next one."""
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    second = await seed.notification(rid, "CONFIRMED")
    sender = RecordingSender()
    real_claim = outbox.claim_for_drain
    theirs: list[outbox.Claimed] = []

    async def claim_then_lose_the_first(*args, **kwargs):
        claimed = await real_claim(*args, **kwargs)
        if claimed and not theirs:
            await lapse_lease(seed, first)
            theirs.extend(await real_claim(pool, scope=seed.scope))
        return claimed

    monkeypatch.setattr(outbox, "claim_for_drain", claim_then_lose_the_first)
    activities = drain(pool, seed, sender)

    def lost_or_sent() -> bool:
        return bool(sender.tried) or any(r.getMessage() == "notification claimed by another deliverer" for r in caplog.records)

    with caplog.at_level(logging.WARNING):
        await drain_until(env, activities, lost_or_sent)
    again = await drain_briefly(recording_env(), activities)

    assert [c.id for c in theirs] == [first]
    assert sender.tried == [] and again["delivered"] == again["failed"] == 0
    row = await seed.row(first)  # their claim stands
    assert row["claimed_until"] is not None and row["attempts"] == theirs[0].attempts and row["sent_at"] is None
    row = await seed.row(second)  # never claimed: it waits behind the first
    assert row["claimed_until"] is None and row["attempts"] == 0


async def test_a_deliverer_whose_lease_ran_out_neither_clears_nor_fails_the_next_claim(seed, pool):
    """Deliverer A's lease ran out and B claimed the row: A giving it back (its send failed) or
    failing it (refused) must leave B's claim alone; else C could claim it and send it again."""
    rid = await seed.reservation()
    nid = await seed.notification(rid, "ACCEPTED")
    [stale] = await outbox.claim_for_drain(pool, scope=seed.scope)
    await lapse_lease(seed, nid)
    [live] = await outbox.claim_for_drain(pool, scope=seed.scope)
    assert live.attempts == stale.attempts + 1

    await outbox.release(pool, stale)
    assert not await outbox.renew(pool, stale)  # nor may A send it now
    assert not await outbox.settle_failed(pool, stale, "KAKAO_REJECTED: 4 (HTTP 400)")

    assert await outbox.claim_for_drain(pool, scope=seed.scope) == []  # C finds it held
    row = await seed.row(nid)
    assert row["claimed_until"] is not None and row["failed_at"] is None and row["attempts"] == live.attempts
    # B's own claim still works: it renews, sends and settles.
    assert await outbox.renew(pool, live)
    await outbox.release(pool, live)
    assert (await seed.row(nid))["claimed_until"] is None


async def test_a_cancellation_between_the_send_and_the_settle_still_records_it_sent(seed, pool, env):
    """The message went; settling it must not be cancelled, or the row goes back to pending and is
    sent again (and NHN, refusing the repeat, would have it end FAILED)."""
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    second = await seed.notification(rid, "CONFIRMED")
    sender = sender_cancelled_at_settle(pool, env)

    with pytest.raises(asyncio.CancelledError):
        await env.run(drain(pool, seed, sender).notify_pending, {"maxMs": 600_000, "idleMs": 20})

    assert sender.keys() == [f"tshop-{rid}-ACCEPTED"]
    row = await seed.row(first)
    assert row["sent_at"] is not None and row["failed_at"] is None  # not pending: never sent again
    assert (await seed.row(second))["sent_at"] is None

    sender.before = sender.after = None
    result = await drain_until(recording_env(), drain(pool, seed, sender), lambda: len(sender.sent) == 2)
    assert result["delivered"] == 1 and sender.keys() == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]
