from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from notifier import outbox
from notifier.activities import NO_RECIPIENT, NotifierActivities
from notifier.kakao import DEFAULT_HALT_CODES, KakaoSender, SinkSender, build_request, dedupe_key
from notifier.log import setup_logging
from notifier.templates import render
from notifier.tests.conftest import full_facts, sender_cancelled_at_settle
from notifier.tests.fakes import UNREGISTERED_TEMPLATE, RecordingSender

pytestmark = pytest.mark.usefixtures("database_url")


def kakao_activities(pool, kakao) -> NotifierActivities:
    return NotifierActivities(pool, KakaoSender(kakao.url, "sender-key-1", "secret-1", timeout=2))


async def test_delivers_pending_messages_oldest_first_then_nothing(seed, pool, kakao, env):
    rid = await seed.reservation()
    await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    await seed.notification(rid, "REMINDER")
    activities = kakao_activities(pool, kakao)

    result = await env.run(activities.notify_customer, {"reservationId": rid})

    assert result == {"delivered": 3, "failed": 0, "kinds": ["ACCEPTED", "CONFIRMED", "REMINDER"]}
    assert [m["templateCode"] for m in kakao.inbox] == ["TSHOP_ACCEPTED", "TSHOP_CONFIRMED", "TSHOP_REMINDER"]
    rows = await seed.rows(rid)
    assert all(r["sent_at"] is not None and r["claimed_until"] is None and r["failed_at"] is None for r in rows)
    assert [r["sent_at"] for r in rows] == sorted(r["sent_at"] for r in rows)
    assert [r["channel"] for r in rows] == ["kakao"] * 3
    assert [r["request"] for r in rows] == [received.body for received in kakao.requests]
    assert rows[1]["template_code"] == "TSHOP_CONFIRMED" and "강남역점" in rows[1]["message_ko"]
    assert rows[1]["message_en"].startswith("[Tshop] Reservation")

    again = await env.run(activities.notify_customer, {"reservationId": rid})

    assert again == {"delivered": 0, "failed": 0, "kinds": []}
    assert len(kakao.requests) == 3


async def test_a_row_claimed_by_another_deliverer_is_in_progress(seed, pool, kakao, env):
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    await seed.sql("update notifications set claimed_until = now() + interval '30 seconds' where id = %s", (first,))

    with pytest.raises(ApplicationError) as error:
        await env.run(kakao_activities(pool, kakao).notify_customer, {"reservationId": rid})

    assert error.value.type == "DeliveryInProgress" and not error.value.non_retryable
    assert kakao.requests == []  # the later row waits for the earlier one: never out of order
    assert all(r["sent_at"] is None for r in await seed.rows(rid))


async def test_a_crash_between_sending_and_settling_resends_with_the_same_key(seed, pool, kakao, env):
    rid = await seed.reservation()
    nid = await seed.notification(rid, "CONFIRMED")
    activities = kakao_activities(pool, kakao)
    # A first attempt claims and posts, then dies before settling: its lease runs out.
    [claimed] = await outbox.claim_for_reservation(pool, rid)
    assert claimed.id == nid
    rendered = render(outbox.facts_of(claimed.row), "김민수")
    key = dedupe_key(rid, "CONFIRMED")
    await activities._sender.send(build_request(rendered, "01012345678", "sender-key-1", key), key)
    await seed.sql("update notifications set claimed_until = now() - interval '1 second' where id = %s", (nid,))

    result = await env.run(activities.notify_customer, {"reservationId": rid})

    assert result["delivered"] == 1
    assert [r.headers["x-nc-api-idempotency-key"] for r in kakao.requests] == [key, key]
    assert len(kakao.inbox) == 1  # the endpoint dropped the repeat: the customer sees one message
    row = await seed.row(nid)
    assert row["sent_at"] is not None and row["attempts"] == 2


async def test_an_endpoint_that_is_down_leaves_rows_pending_then_delivers_in_order(seed, pool, kakao, env):
    rid = await seed.reservation()
    await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    activities = kakao_activities(pool, kakao)
    kakao.mode = "http500"

    with pytest.raises(ApplicationError) as error:
        await env.run(activities.notify_customer, {"reservationId": rid})

    assert error.value.type == "KakaoUnavailable" and not error.value.non_retryable
    rows = await seed.rows(rid)
    assert [(r["sent_at"], r["failed_at"], r["claimed_until"]) for r in rows] == [(None, None, None)] * 2
    assert len(kakao.requests) == 1  # the second waits behind the first

    kakao.mode = "ok"
    result = await env.run(activities.notify_customer, {"reservationId": rid})

    assert result == {"delivered": 2, "failed": 0, "kinds": ["ACCEPTED", "CONFIRMED"]}
    assert [m["templateCode"] for m in kakao.inbox] == ["TSHOP_ACCEPTED", "TSHOP_CONFIRMED"]


async def test_a_refused_message_fails_for_good_and_the_next_one_still_goes(seed, pool, kakao, env):
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "CONFIRMED")
    kakao.mode = "http400"
    activities = kakao_activities(pool, kakao)

    result = await env.run(activities.notify_customer, {"reservationId": rid})

    assert result == {"delivered": 0, "failed": 2, "kinds": ["ACCEPTED", "CONFIRMED"]}
    row = await seed.row(first)
    assert row["failed_at"] is not None and row["sent_at"] is None and row["claimed_until"] is None
    assert row["error"] == "KAKAO_REJECTED: 4 Invalid template parameter (HTTP 400)"
    assert row["template_code"] == "TSHOP_ACCEPTED" and row["channel"] == "kakao" and row["request"] is not None


async def test_no_phone_number_fails_without_sending(seed, pool, kakao, env):
    rid = await seed.reservation(phone=None)
    nid = await seed.notification(rid, "ACCEPTED")

    result = await env.run(kakao_activities(pool, kakao).notify_customer, {"reservationId": rid})

    assert result == {"delivered": 0, "failed": 1, "kinds": ["ACCEPTED"]}
    assert kakao.requests == []
    row = await seed.row(nid)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert row["error"] == NO_RECIPIENT == "NO_RECIPIENT: no phone number on file"
    assert row["template_code"] == "TSHOP_ACCEPTED" and row["message_ko"].startswith("[Tshop]")
    assert row["request"] is None


async def test_the_sink_records_exactly_the_request_that_would_be_sent(seed, pool, env):
    rid = await seed.reservation(name=None, phone="010-9876-5432")
    nid = await seed.notification(rid, "CONFIRMED", full_facts("CONFIRMED", fallback=True, storeId="central-online",
                                                                 storeName="Tshop 온라인 중앙센터", distanceKm=None))
    activities = NotifierActivities(pool, SinkSender(None))

    result = await env.run(activities.notify_customer, {"reservationId": rid})

    assert result == {"delivered": 1, "failed": 0, "kinds": ["CONFIRMED"]}
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

    await env.run(NotifierActivities(pool, SinkSender("sk")).notify_customer, {"reservationId": rid})

    row = await seed.row(nid)
    assert row["template_code"] == "TSHOP_CONFIRMED"
    parameters = row["request"]["recipientList"][0]["templateParameter"]
    assert parameters["상품명"] == "Galaxy Test 256GB"
    assert parameters["대리점명"] == "역삼점" and parameters["거리"] == "0.4km"
    assert parameters["수령기한"] == "2026-12-03 18:00"
    assert row["request"]["senderKey"] == "sk"


async def test_the_result_holds_no_personal_data(seed, pool, kakao, env):
    rid = await seed.reservation(name="홍길동", phone="010-5555-0199")
    await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "COMPLETED")

    result = await env.run(kakao_activities(pool, kakao).notify_customer, {"reservationId": rid})

    text = json.dumps(result, ensure_ascii=False)
    assert result["delivered"] == 2
    for personal in ("홍길동", "010-5555-0199", "01055550199", "5555"):
        assert personal not in text
    assert all("5555" not in json.dumps(h, ensure_ascii=False) for h in env.heartbeats)


async def test_bad_input_is_not_retried(pool, env):
    with pytest.raises(ApplicationError) as error:
        await env.run(NotifierActivities(pool, SinkSender()).notify_customer, {"reservation": "x"})
    assert error.value.type == "InvalidInput" and error.value.non_retryable


async def test_two_calls_at_once_never_split_a_reservations_messages(seed, pool, kakao, env):
    """A workflow's retry racing an attempt still running (or a second replica): one of them takes
    every pending row, the other finds them held; each message goes once, in order."""
    rid = await seed.reservation()
    for kind in ("ACCEPTED", "CONFIRMED", "CANCELLED"):
        await seed.notification(rid, kind)
    activities = kakao_activities(pool, kakao)
    env_b = type(env)()

    async def call(environment):
        try:
            return await environment.run(activities.notify_customer, {"reservationId": rid})
        except ApplicationError as error:
            return error.type

    results = await asyncio.gather(call(env), call(env_b))

    delivered = [r for r in results if isinstance(r, dict) and r["delivered"]]
    assert len(delivered) == 1 and delivered[0]["kinds"] == ["ACCEPTED", "CONFIRMED", "CANCELLED"]
    assert [r for r in results if r not in delivered] in (["DeliveryInProgress"], [{"delivered": 0, "failed": 0, "kinds": []}])
    assert [m["templateCode"] for m in kakao.inbox] == ["TSHOP_ACCEPTED", "TSHOP_CONFIRMED", "TSHOP_CANCELLED"]
    assert len(kakao.requests) == 3


async def test_each_row_is_sent_under_a_live_lease_however_long_the_ones_before_it_took(seed, pool, env):
    """All of a reservation's rows are claimed at once; at 0.8 s a send, the fourth goes out 2.4 s
    after the claim, past a 2 s lease taken then: each send renews its row's lease first."""
    rid = await seed.reservation()
    for kind in ("ACCEPTED", "CONFIRMED", "REMINDER", "EXPIRED"):
        await seed.notification(rid, kind)
    sender = RecordingSender()
    seen: list[bool] = []

    async def check(key: str) -> None:
        [row] = await seed.query(
            "select claimed_until > now() as live from notifications where reservation_id = %s and kind = %s", (rid, key.rsplit("-", 1)[1])
        )
        seen.append(row["live"])
        await asyncio.sleep(0.8)

    sender.before = check

    result = await env.run(NotifierActivities(pool, sender, lease_seconds=2.0).notify_customer, {"reservationId": rid})

    assert result["delivered"] == 4
    assert seen == [True] * 4
    assert len(env.heartbeats) >= 4  # one per row at least: how a cancellation or a time-out reaches it


async def test_a_cancellation_between_the_send_and_the_settle_still_records_it_sent(seed, pool, env):
    """The message went; settling it must not be cancelled, or the row goes back to pending and is
    sent again (and NHN, refusing the repeat, would have it end FAILED)."""
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED")
    second = await seed.notification(rid, "CONFIRMED")
    sender = sender_cancelled_at_settle(pool, env)

    with pytest.raises(asyncio.CancelledError):
        await env.run(NotifierActivities(pool, sender).notify_customer, {"reservationId": rid})

    assert sender.keys() == [f"tshop-{rid}-ACCEPTED"]
    assert (await seed.row(first))["sent_at"] is not None
    row = await seed.row(second)  # not reached: given back for the retry
    assert row["sent_at"] is None and row["claimed_until"] is None

    sender.before = sender.after = None
    result = await type(env)().run(NotifierActivities(pool, sender).notify_customer, {"reservationId": rid})
    assert result["kinds"] == ["CONFIRMED"] and sender.keys() == [f"tshop-{rid}-ACCEPTED", f"tshop-{rid}-CONFIRMED"]


@pytest.mark.parametrize(
    ("mode", "halt_codes", "error"),
    [
        ("http401", DEFAULT_HALT_CODES, "KAKAO_MISCONFIGURED: -1001 Invalid secretKey. (HTTP 401)"),
        ("unregistered_template", DEFAULT_HALT_CODES | {UNREGISTERED_TEMPLATE}, f"KAKAO_MISCONFIGURED: {UNREGISTERED_TEMPLATE} Unregistered template (HTTP 200)"),
    ],
)
async def test_a_refusal_of_every_message_fails_the_call_and_fails_no_row(seed, pool, kakao, env, caplog, mode, halt_codes, error):
    rid = await seed.reservation()
    rows = [await seed.notification(rid, kind) for kind in ("ACCEPTED", "CONFIRMED")]
    kakao.mode = mode
    sender = KakaoSender(kakao.url, "sender-key-1", "secret-1", timeout=5, halt_codes=halt_codes)
    try:
        with pytest.raises(ApplicationError) as raised, caplog.at_level(logging.ERROR):
            await env.run(NotifierActivities(pool, sender).notify_customer, {"reservationId": rid})

        assert raised.value.type == "KakaoMisconfigured" and not raised.value.non_retryable  # Temporal retries it, backing off
        assert raised.value.message == error
        assert len(kakao.requests) == 1
        for nid in rows:
            row = await seed.row(nid)
            assert (row["sent_at"], row["failed_at"], row["claimed_until"], row["error"]) == (None, None, None, None)
        [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "kakao refuses every message" in line.getMessage()

        kakao.mode = "ok"
        result = await type(env)().run(NotifierActivities(pool, sender).notify_customer, {"reservationId": rid})
        assert result == {"delivered": 2, "failed": 0, "kinds": ["ACCEPTED", "CONFIRMED"]}
    finally:
        await sender.aclose()


async def test_a_malformed_row_is_failed_alone_and_the_next_one_still_goes(seed, pool, env):
    rid = await seed.reservation()
    bad = await seed.notification(rid, "REMINDER", full_facts("REMINDER", holdUntil="9999-12-31T23:00:00.000Z"))
    await seed.notification(rid, "EXPIRED")
    sender = RecordingSender()

    result = await env.run(NotifierActivities(pool, sender).notify_customer, {"reservationId": rid})

    assert result == {"delivered": 1, "failed": 1, "kinds": ["REMINDER", "EXPIRED"]}
    assert (await seed.row(bad))["error"] == "MALFORMED: OverflowError: date value out of range"
    assert sender.keys() == [f"tshop-{rid}-EXPIRED"]


async def test_its_log_lines_name_the_workflow_and_the_attempt_and_no_contact(seed, pool, env, capsys):
    rid = await seed.reservation(name="홍길동", phone="010-5555-0199")
    await seed.notification(rid, "ACCEPTED")
    await seed.notification(rid, "REMINDER", full_facts("REMINDER", holdUntil="9999-12-31T23:00:00.000Z"))
    env.info = dataclasses.replace(env.info, workflow_id=f"reservation-{rid}", attempt=3, activity_type="notifyCustomer")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("info")
    try:
        await env.run(NotifierActivities(pool, RecordingSender()).notify_customer, {"reservationId": rid})
    finally:
        root.handlers[:], root.level = handlers, level

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    sent = next(line for line in lines if line["msg"] == "notification sent")
    failed = next(line for line in lines if line["msg"] == "notification failed")
    for line in (sent, failed):
        assert line["workflowId"] == f"reservation-{rid}" and line["attempt"] == 3 and line["activityType"] == "notifyCustomer"
    assert failed["error"] == "MALFORMED"
    text = json.dumps(lines, ensure_ascii=False)
    for personal in ("홍길동", "010-5555-0199", "01055550199"):
        assert personal not in text


async def test_a_row_claimed_by_another_deliverer_after_its_lease_ran_out_is_theirs(seed, pool, env, monkeypatch):
    """The drain claimed the first row once this call's lease on it had run out: the call sends
    neither it nor (out of order) the next one, gives the next one back, and is retried."""
    rid = await seed.reservation()
    first = await seed.notification(rid, "ACCEPTED", age=timedelta(minutes=3))
    second = await seed.notification(rid, "CONFIRMED")
    sender = RecordingSender()
    activities = NotifierActivities(pool, sender)
    real_claim = outbox.claim_for_reservation

    async def claim_then_lose_the_first(*args, **kwargs):
        claimed = await real_claim(*args, **kwargs)
        await seed.sql("update notifications set claimed_until = now() - interval '1 second' where id = %s", (first,))
        assert [c.id for c in await outbox.claim_for_drain(pool, scope=seed.scope)] == [first]
        return claimed

    monkeypatch.setattr(outbox, "claim_for_reservation", claim_then_lose_the_first)
    with pytest.raises(ApplicationError) as error:
        await env.run(activities.notify_customer, {"reservationId": rid})

    assert error.value.type == "DeliveryInProgress" and sender.tried == []
    assert (await seed.row(first))["claimed_until"] is not None  # the drain's claim stands
    assert (await seed.row(second))["claimed_until"] is None  # given back
