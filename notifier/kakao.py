"""Sending an AlimTalk message: the request (NHN Cloud KakaoTalk Bizmessage API v2.3, "send
message"), the HTTP call, and the local sink used when no endpoint is configured.

The standard library's urllib is blocking, so each call runs on a thread; at a few hundred
messages a second that is cheaper than another HTTP dependency to pin and audit.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import urllib.error
import urllib.request
from typing import Any, Protocol

from .templates import Rendered

CHANNEL_KAKAO = "kakao"
CHANNEL_SINK = "sink"
TIMEOUT_SECONDS = 5.0
# Statuses that say "not now" rather than "never": worth the same request again later.
_RETRYABLE_STATUSES = {408, 429}


class KakaoUnavailable(Exception):
    """The endpoint could not take the message now (5xx, 429, 408, no connection, time-out)."""


class KakaoRejected(Exception):
    """The endpoint refused the message for good; the text is what the row's `error` records."""


def dedupe_key(reservation_id: str, kind: str) -> str:
    # (reservation_id, kind) is unique in the outbox, so the key is the same on every retry,
    # replica and restart: the endpoint can drop a repeat of a message it already took.
    return f"tshop-{reservation_id}-{kind}"


def normalise_phone(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits or None


def build_request(rendered: Rendered, recipient_no: str, sender_key: str | None, key: str) -> dict[str, Any]:
    return {
        "senderKey": sender_key,
        "templateCode": rendered.template_code,
        "recipientList": [
            {
                "recipientNo": recipient_no,
                "templateParameter": dict(rendered.parameters),
                "recipientGroupingKey": key,
                # Without KakaoTalk (not installed, blocked) the customer still gets a text.
                "resendParameter": {
                    "isResend": True,
                    "resendType": "LMS",
                    "resendTitle": "[Tshop]",
                    "resendContent": rendered.text_en,
                },
            }
        ],
    }


class Sender(Protocol):
    channel: str
    sender_key: str | None

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        """Returns once the endpoint took the message; raises KakaoUnavailable or KakaoRejected."""


class SinkSender:
    """No endpoint: nothing leaves the machine; the outbox row records what would have been sent."""

    channel = CHANNEL_SINK

    def __init__(self, sender_key: str | None = None) -> None:
        self.sender_key = sender_key

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        return None


class KakaoSender:
    channel = CHANNEL_KAKAO

    def __init__(
        self, url: str, sender_key: str, api_key: str, timeout: float = TIMEOUT_SECONDS, idempotency_header: str = "X-NC-API-IDEMPOTENCY-KEY"
    ) -> None:
        self.url = url
        self.sender_key = sender_key
        self._api_key = api_key
        self._timeout = timeout
        self._idempotency_header = idempotency_header

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        status, raw = await asyncio.to_thread(self._post, json.dumps(body, ensure_ascii=False).encode(), idempotency_key)
        check_response(status, raw)

    def _post(self, data: bytes, idempotency_key: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json;charset=UTF-8",
                "X-Secret-Key": self._api_key,
                self._idempotency_header: idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:  # a status outside 2xx: its body may say why
            with error:
                return error.code, _read_quietly(error)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            # Refused, reset, DNS, time-out (TimeoutError is an OSError): the message may not
            # have arrived, and the same idempotency key makes sending it again safe.
            raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: {_reason(error)}") from error


def check_response(status: int, raw: bytes) -> None:
    if status >= 500 or status in _RETRYABLE_STATUSES:
        raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: HTTP {status}")
    document = _json(raw)
    header = document.get("header") if isinstance(document, dict) else None
    if not 200 <= status < 300:
        raise KakaoRejected(_rejection(header, status))
    if not isinstance(header, dict):
        # A 2xx we cannot read may still have been taken: retrying with the same key is safe.
        raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: unreadable response (HTTP {status})")
    if header.get("isSuccessful") is not True:
        raise KakaoRejected(_rejection(header, status))
    message = document.get("message")
    results = message.get("sendResults") if isinstance(message, dict) else None
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and "resultCode" in result and result["resultCode"] != 0:
            raise KakaoRejected(_rejection(result, status))


def _rejection(result: Any, status: int) -> str:
    if isinstance(result, dict) and ("resultCode" in result or "resultMessage" in result):
        return f"KAKAO_REJECTED: {result.get('resultCode')} {result.get('resultMessage') or ''}".rstrip() + f" (HTTP {status})"
    return f"KAKAO_REJECTED: HTTP {status}"


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None


def _read_quietly(response: Any) -> bytes:
    try:
        return response.read()
    except (OSError, http.client.HTTPException):
        return b""


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
