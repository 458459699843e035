from __future__ import annotations

import asyncio

import pytest

from notifier.kakao import (
    DEFAULT_HALT_CODES,
    KakaoMisconfigured,
    KakaoRejected,
    KakaoSender,
    KakaoUnavailable,
    build_request,
    check_response,
    dedupe_key,
    normalise_phone,
)
from notifier.templates import Facts, render
from notifier.tests.fakes import FakeKakao, refused_url


def request_for(kind: str = "CONFIRMED") -> tuple[dict, str]:
    rendered = render(Facts("7KQ2M9XW4ZRT", kind, "Galaxy S26 Ultra 512GB", "강남역점", 1.2, None), "김민수")
    key = dedupe_key("7KQ2M9XW4ZRT", kind)
    return build_request(rendered, "01012345678", "sender-key-1", key), key


def sender(url: str, timeout: float = 5.0) -> KakaoSender:
    return KakaoSender(url, "sender-key-1", "secret-1", timeout=timeout)


async def test_posts_the_alimtalk_request_with_its_headers(kakao: FakeKakao):
    body, key = request_for()

    await sender(kakao.url).send(body, key)

    [received] = kakao.requests
    assert received.headers["content-type"] == "application/json;charset=UTF-8"
    assert received.headers["x-secret-key"] == "secret-1"
    assert received.headers["x-nc-api-idempotency-key"] == key == "tshop-7KQ2M9XW4ZRT-CONFIRMED"
    assert received.body == body
    recipient = received.body["recipientList"][0]
    assert received.body["senderKey"] == "sender-key-1"
    assert received.body["templateCode"] == "TSHOP_CONFIRMED"
    assert recipient["recipientNo"] == "01012345678"
    assert recipient["recipientGroupingKey"] == received.headers["x-nc-api-idempotency-key"]
    assert recipient["templateParameter"]["대리점명"] == "강남역점"
    assert recipient["resendParameter"]["isResend"] is True
    assert recipient["resendParameter"]["resendType"] == "LMS"
    assert recipient["resendParameter"]["resendContent"].startswith("[Tshop] Reservation 7KQ2M9XW4ZRT")


@pytest.mark.parametrize("mode", ["http500", "http429"])
async def test_an_endpoint_that_cannot_take_it_now_is_retryable(kakao: FakeKakao, mode: str):
    kakao.mode = mode
    with pytest.raises(KakaoUnavailable):
        await sender(kakao.url).send(*request_for())


async def test_a_time_out_is_retryable(kakao: FakeKakao):
    kakao.mode, kakao.slow_seconds = "slow", 1.0
    with pytest.raises(KakaoUnavailable, match="KAKAO_UNAVAILABLE"):
        await sender(kakao.url, timeout=0.2).send(*request_for())


async def test_a_refused_connection_is_retryable():
    with pytest.raises(KakaoUnavailable, match="KAKAO_UNAVAILABLE"):
        await sender(refused_url()).send(*request_for())


@pytest.mark.parametrize(
    ("mode", "code"), [("http400", "4"), ("not_successful", "-1028"), ("result_failed", "-2003")]
)
async def test_a_refusal_is_permanent_and_says_why(kakao: FakeKakao, mode: str, code: str):
    kakao.mode = mode
    with pytest.raises(KakaoRejected) as error:
        await sender(kakao.url).send(*request_for())
    assert str(error.value).startswith(f"KAKAO_REJECTED: {code} ")


def test_response_rules():
    ok = b'{"header": {"resultCode": 0, "resultMessage": "success", "isSuccessful": true}}'
    check_response(200, ok)
    with pytest.raises(KakaoUnavailable):
        check_response(503, b"")
    with pytest.raises(KakaoUnavailable):
        check_response(408, b"")
    with pytest.raises(KakaoUnavailable):
        check_response(200, b"<html>gateway</html>")  # it may have been taken: the same key again is safe
    with pytest.raises(KakaoRejected, match="HTTP 400"):
        check_response(400, b"")
    with pytest.raises(KakaoRejected, match="HTTP 422"):
        check_response(422, b"")


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_key_or_url_refused_is_the_systems_fault_not_the_messages(status: int):
    with pytest.raises(KakaoMisconfigured, match=f"KAKAO_MISCONFIGURED: HTTP {status}"):
        check_response(status, b"")


def test_result_codes_that_refuse_every_message_are_the_systems_fault():
    invalid_secret = b'{"header": {"resultCode": -1001, "resultMessage": "Invalid secretKey.", "isSuccessful": false}}'
    with pytest.raises(KakaoMisconfigured, match="KAKAO_MISCONFIGURED: -1001 Invalid secretKey. [(]HTTP 200[)]"):
        check_response(200, invalid_secret)
    assert DEFAULT_HALT_CODES >= {-1000, -1001, -1006, -1014, -1017, -1027, -2017}
    # A code listed in KAKAO_HALT_CODES (a provider's code for an unregistered template) too; a code not listed fails the message.
    unknown = b'{"header": {"resultCode": "-9001", "resultMessage": "Unregistered template", "isSuccessful": false}}'
    with pytest.raises(KakaoRejected):
        check_response(200, unknown)
    with pytest.raises(KakaoMisconfigured):
        check_response(200, unknown, DEFAULT_HALT_CODES | {-9001})


def test_phone_numbers_become_digits_and_keys_are_stable():
    assert normalise_phone("010-1234-5678") == "01012345678"
    assert normalise_phone(" 010 1234 5678 ") == "01012345678"
    assert normalise_phone("") is None and normalise_phone(None) is None and normalise_phone("--") is None
    assert dedupe_key("R1", "ACCEPTED") == "tshop-R1-ACCEPTED"


async def test_sends_reuse_a_kept_alive_connection(kakao: FakeKakao):
    client = sender(kakao.url)
    try:
        for kind in ("ACCEPTED", "CONFIRMED", "REMINDER", "COMPLETED", "EXPIRED"):
            await client.send(*request_for(kind))
    finally:
        await client.aclose()

    assert len(kakao.requests) == 5
    assert len({r.client for r in kakao.requests}) == 1  # one connection, not one per message


async def test_sends_at_once_are_requests_at_once(kakao: FakeKakao):
    """Twenty sends at once reach the endpoint at once: none waits for a free thread. (The endpoint
    holds every answer until it has all twenty, or until the sends give up.)"""
    kakao.mode = "hold"
    client = sender(kakao.url)
    try:
        sends = [asyncio.ensure_future(client.send(*request_for("ACCEPTED"))) for _ in range(20)]
        while kakao.in_flight < 20 and not all(s.done() for s in sends):
            await asyncio.sleep(0.01)
        kakao.release()
        await asyncio.gather(*sends)
    finally:
        await client.aclose()
    assert kakao.most_in_flight == 20


async def test_the_time_out_covers_the_wait_for_a_connection(kakao: FakeKakao):
    """With its only connection taken (by a request the endpoint holds as long as the test likes),
    a send gives up within its time-out: the wait for a connection is part of it."""
    kakao.mode = "hold"
    client = KakaoSender(kakao.url, "sender-key-1", "secret-1", timeout=0.5, max_connections=1)
    try:
        taken = asyncio.ensure_future(client._client.post(kakao.url, content=b"{}", timeout=None))
        while not kakao.requests:
            await asyncio.sleep(0.01)

        with pytest.raises(KakaoUnavailable, match="KAKAO_UNAVAILABLE"):
            await client.send(*request_for("CONFIRMED"))  # a wait without bound would hang here (pytest-timeout)

        assert not taken.done() and kakao.answered == 0  # the connection was taken all along
        kakao.release()
        assert (await taken).status_code == 200
    finally:
        await client.aclose()
    assert len(kakao.requests) == 1
