"""The notifier's configuration: the environment, read once at start into a frozen value."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

LOG_LEVELS = ("debug", "info", "warn", "error")
DEFAULT_IDEMPOTENCY_HEADER = "X-NC-API-IDEMPOTENCY-KEY"
_KEY_ID = re.compile(r"^[\w.-]{1,64}$")


class ConfigError(ValueError):
    """A setting the notifier cannot start with; its message names the variable."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    key: bytes = field(repr=False)  # 32 bytes (AES-256)


@dataclass(frozen=True)
class Config:
    database_url: str = field(repr=False)
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    # No URL: no endpoint, messages go to the local sink (which still records the sender key).
    kakao_api_url: str | None
    kakao_sender_key: str | None = field(repr=False)
    kakao_api_key: str | None = field(repr=False)
    # Where the dedupe key goes; NHN Cloud's header refuses a repeat of a key within 10 minutes.
    kakao_idempotency_header: str
    # The first one encrypts; empty: payloads travel as plain JSON.
    payload_keys: tuple[PayloadKey, ...] = field(repr=False)
    rate_per_second: float
    max_concurrent: int
    identity: str
    log_level: str
    # Result codes, beyond kakao.DEFAULT_HALT_CODES, that refuse every message alike: sending stops
    # (rows stay pending) instead of failing one row after another.
    kakao_halt_codes: tuple[int, ...] = ()
    # Set by the launchers that start it as a child (npm start, the tests): a parent killed
    # outright (SIGKILL) must not leave it polling.
    exit_with_parent: bool = False
    # A Temporal cluster that asks for more than an address (Temporal Cloud), as the TypeScript
    # processes take it: an API key, or mutual TLS with a client certificate and key (PEM files).
    temporal_api_key: str | None = field(default=None, repr=False)
    temporal_tls: bool = False
    temporal_tls_cert: str | None = None
    temporal_tls_key: str | None = None
    temporal_tls_ca: str | None = None

    @property
    def channel(self) -> str:
        return "kakao" if self.kakao_api_url else "sink"


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env

    def get(name: str, default: str | None = None) -> str | None:
        # An empty variable counts as unset, as a compose file's `FOO=` means.
        value = env.get(name, "").strip()
        return value or default

    database_url = get("DATABASE_URL")
    if not database_url:
        raise ConfigError("DATABASE_URL is required (e.g. postgres://tshop:tshop@127.0.0.1:5433/tshop)")
    _refuse_placeholders(get, database_url)
    return Config(
        database_url=database_url,
        temporal_address=get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        temporal_namespace=get("TEMPORAL_NAMESPACE", "default"),
        task_queue=get("NOTIFIER_TASK_QUEUE", "tshop-notifications"),
        kakao_api_url=_kakao_url(get("KAKAO_API_URL"), get("KAKAO_SENDER_KEY"), get("KAKAO_API_KEY")),
        kakao_sender_key=get("KAKAO_SENDER_KEY"),
        kakao_api_key=get("KAKAO_API_KEY"),
        kakao_idempotency_header=get("KAKAO_IDEMPOTENCY_HEADER", DEFAULT_IDEMPOTENCY_HEADER),
        kakao_halt_codes=_codes("KAKAO_HALT_CODES", get("KAKAO_HALT_CODES")),
        payload_keys=parse_payload_keys(get("PAYLOAD_KEYS")),
        rate_per_second=_number("NOTIFIER_RATE", get("NOTIFIER_RATE", "100"), float, 0),
        max_concurrent=_number("NOTIFIER_MAX_CONCURRENT", get("NOTIFIER_MAX_CONCURRENT", "50"), int, 1),
        identity=get("NOTIFIER_IDENTITY") or f"notifier-{os.getpid()}@{socket.gethostname()}",
        log_level=_log_level(get("LOG_LEVEL", "info")),
        exit_with_parent=get("NOTIFIER_EXIT_WITH_PARENT", "") in ("1", "true"),
        **_temporal_access(get),
    )


# Words that mark a value as an example's (the repository's own examples say CHANGE-ME), as the
# TypeScript side's platform/secrets.ts refuses them.
_PLACEHOLDER = re.compile(
    r"change[-_ .]?me|placeholder|replace[-_ .]?(me|this)|your[-_ .]?([a-z]+[-_ .]?)?(secret|key|token|password)"
    r"|example|dummy|^(x{4,}|\.{3,}|<[^>]*>)$",
    re.IGNORECASE,
)


def _refuse_placeholders(get, database_url: str) -> None:
    password = urlsplit(database_url).password or ""
    values = {"DATABASE_URL": unquote(password)}
    values.update({name: get(name) or "" for name in ("KAKAO_API_KEY", "KAKAO_SENDER_KEY", "TEMPORAL_API_KEY")})
    for name, value in values.items():
        marker = _PLACEHOLDER.search(value)
        if marker:
            raise ConfigError(f'{name} holds the placeholder "{marker.group(0)}": put the real value in')


def _temporal_access(get) -> dict:
    cert, key = get("TEMPORAL_TLS_CERT"), get("TEMPORAL_TLS_KEY")
    if bool(cert) != bool(key):
        raise ConfigError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its key)")
    api_key = get("TEMPORAL_API_KEY")
    tls = get("TEMPORAL_TLS", "") in ("1", "true") or bool(api_key) or bool(cert)
    return {
        "temporal_api_key": api_key,
        "temporal_tls": tls,
        "temporal_tls_cert": cert,
        "temporal_tls_key": key,
        "temporal_tls_ca": get("TEMPORAL_TLS_CA"),
    }


def _kakao_url(url: str | None, sender_key: str | None, api_key: str | None) -> str | None:
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"KAKAO_API_URL must be an http(s) URL (got {url!r})")
    # Every send carries the secret key: in clear only to a stand-in on this host.
    if url.startswith("http://") and not _is_loopback(urlsplit(url).hostname or ""):
        raise ConfigError("KAKAO_API_URL must be https:// (each send carries KAKAO_API_KEY); http:// only to this host")
    # Half a configuration would fail every send at the endpoint: refuse it at start instead.
    missing = [name for name, value in (("KAKAO_SENDER_KEY", sender_key), ("KAKAO_API_KEY", api_key)) if not value]
    if missing:
        raise ConfigError(f"KAKAO_API_URL is set, so {' and '.join(missing)} must be set too")
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_payload_keys(spec: str | None) -> tuple[PayloadKey, ...]:
    """`<id>:<base64 of 32 bytes>[,<id>:<key>…]`, as the TypeScript side's PAYLOAD_KEYS."""
    if not spec:
        return ()
    keys = []
    for part in spec.split(","):
        key_id, _, encoded = part.strip().partition(":")
        key = _base64(encoded)
        if not _KEY_ID.match(key_id) or key is None or len(key) != 32:
            raise ConfigError(f'PAYLOAD_KEYS: "{key_id}": each key is <id>:<base64 of 32 bytes>')
        keys.append(PayloadKey(key_id, key))
    return tuple(keys)


def _base64(encoded: str) -> bytes | None:
    # Node's Buffer.from(…, 'base64') also takes the URL-safe alphabet and missing padding.
    text = encoded.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _number(name: str, raw: str | None, kind: type, minimum: float):
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value != value or value < minimum:  # value != value: NaN
        raise ConfigError(f"{name} must be a number >= {minimum} (got {raw!r})")
    return value


def _codes(name: str, raw: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in (raw or "").split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be result codes separated by commas, e.g. -3014,-3015 (got {raw!r})") from None


def _log_level(raw: str | None) -> str:
    level = (raw or "info").lower()
    level = "warn" if level == "warning" else level
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {raw!r})")
    return level
