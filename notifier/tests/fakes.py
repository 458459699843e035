"""Test doubles: a fake Kakao AlimTalk endpoint over real HTTP, and an in-process recording sender."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]  # names in lower case (HTTP header names are case-insensitive)
    body: dict[str, Any]
    client: tuple[str, int] = ("", 0)  # the connection it came on


UNREGISTERED_TEMPLATE = -9001


@dataclass
class FakeKakao:
    """Answers like NHN Cloud's AlimTalk API; `mode` picks the answer. Like the real endpoint it
    keeps one message per X-NC-API-IDEMPOTENCY-KEY: `inbox` is what the customers' phones show."""

    # ok | http500 | http429 | http400 | http401 | not_successful | unregistered_template | result_failed | slow
    # | hold (no answer until release())
    mode: str = "ok"
    slow_seconds: float = 1.0
    requests: list[Received] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    answered: int = 0  # requests answered so far
    in_flight: int = 0
    most_in_flight: int = 0  # requests being answered at once, at most
    _keys: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def start(self) -> FakeKakao:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keeps connections open between requests, as the real endpoint does.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                status, answer = fake._answer({k.lower(): v for k, v in self.headers.items()}, body, self.client_address)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                with fake._lock:
                    fake.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the listen backlog: many connections at once, none dropped

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        """Answers the requests held in `hold` mode, and any later ones at once."""
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/alimtalk/v2.3/appkeys/test/messages"

    def _answer(self, headers: dict[str, str], body: dict[str, Any], client: tuple[str, int]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(Received(headers, body, client))
            mode = self.mode
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return self._answer_as(mode, headers, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer_as(self, mode: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode == "hold":
            self._released.wait(60)
            return 200, {"header": {"resultCode": 0, "resultMessage": "success", "isSuccessful": True}}
        if mode == "http500":
            return 500, {"header": {"resultCode": -9999, "resultMessage": "internal error", "isSuccessful": False}}
        if mode == "http429":
            return 429, {}
        if mode == "http400":
            return 400, {"header": {"resultCode": 4, "resultMessage": "Invalid template parameter", "isSuccessful": False}}
        if mode == "http401":  # a rotated secret key
            return 401, {"header": {"resultCode": -1001, "resultMessage": "Invalid secretKey.", "isSuccessful": False}}
        if mode == "not_successful":  # this message's variable too long for a new channel
            return 200, {"header": {"resultCode": -1028, "resultMessage": "Blacklist can't use more than 14 characters in template value.", "isSuccessful": False}}
        if mode == "unregistered_template":  # a code of this fake's own, as KAKAO_HALT_CODES would list one
            return 200, {"header": {"resultCode": UNREGISTERED_TEMPLATE, "resultMessage": "Unregistered template", "isSuccessful": False}}
        recipient = body["recipientList"][0]
        result_code = -2003 if mode == "result_failed" else 0
        with self._lock:
            key = headers.get("x-nc-api-idempotency-key", "")
            if result_code == 0 and key not in self._keys:
                self._keys.add(key)
                self.inbox.append({"key": key, "templateCode": body["templateCode"], **recipient})
        return 200, {
            "header": {"resultCode": 0, "resultMessage": "success", "isSuccessful": True},
            "message": {
                "requestId": f"req-{len(self.requests)}",
                "sendResults": [
                    {
                        "recipientSeq": 1,
                        "recipientNo": recipient["recipientNo"],
                        "resultCode": result_code,
                        "resultMessage": "SUCCESS" if result_code == 0 else "Invalid recipient",
                        "recipientGroupingKey": recipient["recipientGroupingKey"],
                    }
                ],
            },
        }


def refused_url() -> str:
    """An address nothing listens on: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/messages"


class RecordingSender:
    """Takes every message at once, noting when (loop time) and what; `fail_with` raises instead.
    `before` runs as each send starts (to look at the row, or hold the send), `after` as it
    returns; `tried` lists every key a send was started for."""

    channel = "kakao"
    sender_key = "test-sender-key"

    def __init__(self) -> None:
        self.sent: list[tuple[float, str, dict[str, Any]]] = []
        self.tried: list[str] = []
        self.fail_with: BaseException | None = None
        self.delay = 0.0
        self.before: Callable[[str], Awaitable[None]] | None = None
        self.after: Callable[[str], None] | None = None

    async def send(self, body: dict[str, Any], idempotency_key: str) -> None:
        self.tried.append(idempotency_key)
        if self.before is not None:
            await self.before(idempotency_key)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((asyncio.get_running_loop().time(), idempotency_key, body))
        if self.after is not None:
            self.after(idempotency_key)

    async def aclose(self) -> None:
        return None

    def keys(self) -> list[str]:
        return [key for _, key, _ in self.sent]
