from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.exceptions import ApplicationError

from notifier import outbox
from notifier.activities import NO_RECIPIENT, NotifierActivities
from notifier.kakao import KakaoSender, SinkSender, build_request, dedupe_key
from notifier.templates import render
from notifier.tests.conftest import full_facts

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
    nid = await seed.notification(rid, "CONFIRMED", full_facts("CONFIRMED", fallback=True, agencyId="central-online",
                                                                 agencyName="Tshop 온라인 중앙센터", distanceKm=None))
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
    nid = await seed.notification(rid, "CONFIRMED", {"status": "CONFIRMED", "agencyId": "yeoksam-02", "fulfilment": "PICKUP"})

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
