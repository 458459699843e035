from __future__ import annotations

import pytest

from notifier.kakao import (
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
    ("mode", "code"), [("http400", "-1006"), ("not_successful", "-3000"), ("result_failed", "-2003")]
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
    with pytest.raises(KakaoRejected, match="HTTP 401"):
        check_response(401, b"")


def test_phone_numbers_become_digits_and_keys_are_stable():
    assert normalise_phone("010-1234-5678") == "01012345678"
    assert normalise_phone(" 010 1234 5678 ") == "01012345678"
    assert normalise_phone("") is None and normalise_phone(None) is None and normalise_phone("--") is None
    assert dedupe_key("R1", "ACCEPTED") == "tshop-R1-ACCEPTED"
