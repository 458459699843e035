"""Sending an AlimTalk message: the request (NHN Cloud KakaoTalk Bizmessage API v2.3, "send
message"), the HTTP call, and the local sink used when no endpoint is configured.

The HTTP client is httpx's, asynchronous with a pool of kept-alive connections: a send waits for
no thread, reuses a connection, and its time-out covers the whole of it, the wait for a
connection included.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

import httpx

from .templates import Rendered

CHANNEL_KAKAO = "kakao"
CHANNEL_SINK = "sink"
TIMEOUT_SECONDS = 5.0
# As many sends at once as the notifier runs activities (NOTIFIER_MAX_CONCURRENT, 50) plus a drain's 16.
MAX_CONNECTIONS = 64
# Statuses that say "not now" rather than "never": worth the same request again later.
_RETRYABLE_STATUSES = {408, 429}
# Statuses that refuse every message alike: the key, the app key in the URL, the URL itself.
_HALT_STATUSES = {401, 403, 404}
# NHN Cloud's result codes that refuse every message alike (its KakaoTalk Bizmessage error-code
# table): invalid app key (-1000), secret key (-1001), a channel without sender key (-1006), not
# activated (-1014), over the daily volume (-1017), blocked (-1027), no such channel (-2017).
# KAKAO_HALT_CODES adds others (a provider's code for an unregistered template).
DEFAULT_HALT_CODES = frozenset({-1000, -1001, -1006, -1014, -1017, -1027, -2017})


class KakaoUnavailable(Exception):
    """The endpoint could not take the message now (5xx, 429, 408, no connection, time-out)."""


class KakaoRejected(Exception):
    """The endpoint refused the message for good; the text is what the row's `error` records."""


class KakaoMisconfigured(Exception):
    """The endpoint refuses every message alike (a rotated key, a blocked channel): not the
    message's fault, so no row is failed for it; sending stops until it is put right."""


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
        """Returns once the endpoint took the message; raises KakaoUnavailable, KakaoRejected or KakaoMisconfigured."""

    async def aclose(self) -> None:
        """Closes its connections (at the worker's stop)."""


class SinkSender:
    """No endpoint: nothing leaves the machine; the outbox row records what would have been sent."""

    channel = CHANNEL_SINK

    def __init__(self, sender_key: str | None = None) -> None:
        self.sender_key = sender_key

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class KakaoSender:
    channel = CHANNEL_KAKAO

    def __init__(
        self,
        url: str,
        sender_key: str,
        api_key: str,
        timeout: float = TIMEOUT_SECONDS,
        idempotency_header: str = "X-NC-API-IDEMPOTENCY-KEY",
        *,
        halt_codes: Iterable[int] = DEFAULT_HALT_CODES,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.url = url
        self.sender_key = sender_key
        self._api_key = api_key
        self._timeout = timeout
        self._idempotency_header = idempotency_header
        self._halt_codes = frozenset(halt_codes)
        self._client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
            # A proxy from the environment only for https: the secret key goes in clear to an
            # http:// endpoint on this host only (config.py), never to a proxy on the way.
            trust_env=url.startswith("https://"),
        )

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        headers = {
            "Content-Type": "application/json;charset=UTF-8",
            "X-Secret-Key": self._api_key,
            self._idempotency_header: idempotency_key,
        }
        try:
            # httpx times each phase; this bounds the whole send, the wait for a pooled connection included.
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(self.url, content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
        except (httpx.TransportError, TimeoutError, OSError) as error:
            # Refused, reset, DNS, time-out: the message may not have arrived, and the same
            # idempotency key makes sending it again safe.
            raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: {_reason(error)}") from error
        check_response(response.status_code, response.content, self._halt_codes)

    async def aclose(self) -> None:
        await self._client.aclose()


def check_response(status: int, raw: bytes, halt_codes: Iterable[int] = DEFAULT_HALT_CODES) -> None:
    if status >= 500 or status in _RETRYABLE_STATUSES:
        raise KakaoUnavailable(f"KAKAO_UNAVAILABLE: HTTP {status}")
    document = _json(raw)
    header = document.get("header") if isinstance(document, dict) else None
    if status in _HALT_STATUSES or _result_code(header) in frozenset(halt_codes):
        raise KakaoMisconfigured(_rejection(header, status).replace("KAKAO_REJECTED", "KAKAO_MISCONFIGURED", 1))
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


def _result_code(header: Any) -> int | None:
    code = header.get("resultCode") if isinstance(header, dict) else None
    try:
        return int(code) if code is not None and not isinstance(code, bool) else None
    except (TypeError, ValueError):
        return None


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
