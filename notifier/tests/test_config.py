from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.config import ConfigError, load_config, parse_payload_keys
from notifier.kakao import DEFAULT_HALT_CODES
from notifier.worker import make_sender

KEY = base64.b64encode(bytes(range(32))).decode()
ROOT = Path(__file__).resolve().parents[2]


def test_defaults():
    config = load_config({"DATABASE_URL": "postgres://tshop:tshop@127.0.0.1:5433/tshop"})
    assert config.temporal_address == "127.0.0.1:7233"
    assert config.temporal_namespace == "default"
    assert config.task_queue == "tshop-notifications"
    assert config.channel == "sink" and config.kakao_sender_key is None
    assert config.payload_keys == ()
    assert config.rate_per_second == 100 and config.max_concurrent == 50
    assert config.identity.startswith(f"notifier-{os.getpid()}@")
    assert config.log_level == "info"


def test_a_kakao_endpoint_needs_both_keys():
    base = {"DATABASE_URL": "postgres://x", "KAKAO_API_URL": "https://kakao.example/alimtalk"}
    with pytest.raises(ConfigError, match="KAKAO_SENDER_KEY and KAKAO_API_KEY"):
        load_config(base)
    with pytest.raises(ConfigError, match="KAKAO_API_KEY"):
        load_config({**base, "KAKAO_SENDER_KEY": "s"})
    config = load_config({**base, "KAKAO_SENDER_KEY": "s", "KAKAO_API_KEY": "k"})
    assert config.channel == "kakao"


def test_payload_keys_as_the_typescript_side_writes_them():
    keys = parse_payload_keys(f"new:{KEY}, old:{KEY}")
    assert [k.id for k in keys] == ["new", "old"] and keys[0].key == bytes(range(32))
    for bad in ("new", f"new:{KEY[:-8]}", f"bad id:{KEY}", f"new:{KEY}!"):
        with pytest.raises(ConfigError, match="PAYLOAD_KEYS"):
            parse_payload_keys(bad)


@pytest.mark.parametrize(
    ("name", "value"),
    [("NOTIFIER_RATE", "fast"), ("NOTIFIER_RATE", "-1"), ("NOTIFIER_MAX_CONCURRENT", "0"), ("LOG_LEVEL", "loud")],
)
def test_bad_numbers_and_levels(name: str, value: str):
    with pytest.raises(ConfigError, match=name):
        load_config({"DATABASE_URL": "postgres://x", name: value})


def test_bad_configuration_exits_2_with_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAKAO_API_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "notifier"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "notifier: invalid configuration: DATABASE_URL is required (e.g. postgres://tshop:tshop@127.0.0.1:5433/tshop)"
    ]


def test_temporal_access_plain_by_default_tls_with_an_api_key_mutual_with_a_certificate(tmp_path):
    from notifier.worker import tls_for

    plain = load_config({"DATABASE_URL": "postgres://x"})
    assert (plain.temporal_tls, tls_for(plain), plain.temporal_api_key) == (False, False, None)
    keyed = load_config({"DATABASE_URL": "postgres://x", "TEMPORAL_API_KEY": "key-1"})
    assert (tls_for(keyed), keyed.temporal_api_key) == (True, "key-1")
    (tmp_path / "c.pem").write_text("CERT")
    (tmp_path / "k.pem").write_text("KEY")
    mutual = load_config({"DATABASE_URL": "postgres://x", "TEMPORAL_TLS_CERT": str(tmp_path / "c.pem"), "TEMPORAL_TLS_KEY": str(tmp_path / "k.pem")})
    tls = tls_for(mutual)
    assert (tls.client_cert, tls.client_private_key) == (b"CERT", b"KEY")
    with pytest.raises(ConfigError, match="TEMPORAL_TLS_KEY"):
        load_config({"DATABASE_URL": "postgres://x", "TEMPORAL_TLS_CERT": str(tmp_path / "c.pem")})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgres://tshop:CHANGE-ME@postgres.example.internal:5432/tshop"),
        ("KAKAO_API_KEY", "CHANGE-ME-kakao-api-key"),
        ("KAKAO_SENDER_KEY", "your-sender-key"),
        ("TEMPORAL_API_KEY", "<your api key>"),
    ],
)
def test_refuses_an_examples_placeholder_by_name(name: str, value: str):
    env = {"DATABASE_URL": "postgres://tshop:s3cret@db.example.internal:5432/tshop", name: value}
    with pytest.raises(ConfigError, match=f"{name} holds the placeholder"):
        load_config(env)
    # A host called example is not a placeholder: only the URL's password is looked at.
    assert load_config({"DATABASE_URL": "postgres://tshop:s3cret@db.example.internal:5432/tshop"}).database_url


def test_kakao_over_plain_http_only_to_this_host():
    keys = {"DATABASE_URL": "postgres://x", "KAKAO_SENDER_KEY": "s", "KAKAO_API_KEY": "k"}
    for url in ("http://kakao.example.com/alimtalk", "http://10.0.0.8/alimtalk"):
        with pytest.raises(ConfigError, match="KAKAO_API_URL must be https://"):
            load_config({**keys, "KAKAO_API_URL": url})
    for url in ("https://api-alimtalk.cloud.toast.com/alimtalk", "http://127.0.0.1:9/alimtalk", "http://localhost:9/x", "http://[::1]:9/x"):
        assert load_config({**keys, "KAKAO_API_URL": url}).kakao_api_url == url


def test_halt_codes_add_to_the_defaults_in_the_sender(kakao_url="http://127.0.0.1:9/alimtalk"):
    keys = {"DATABASE_URL": "postgres://x", "KAKAO_API_URL": kakao_url, "KAKAO_SENDER_KEY": "s", "KAKAO_API_KEY": "k"}
    assert load_config(keys).kakao_halt_codes == ()
    config = load_config({**keys, "KAKAO_HALT_CODES": "-3014, -3015"})
    assert config.kakao_halt_codes == (-3014, -3015)
    assert make_sender(config)._halt_codes == DEFAULT_HALT_CODES | {-3014, -3015}
    with pytest.raises(ConfigError, match="KAKAO_HALT_CODES must be result codes"):
        load_config({**keys, "KAKAO_HALT_CODES": "-3014;x"})


def test_its_repr_shows_no_secret():
    key = base64.b64encode(bytes(range(32))).decode()
    config = load_config(
        {
            "DATABASE_URL": "postgres://tshop:db-password-1@db:5432/tshop",
            "KAKAO_API_URL": "https://kakao.test/alimtalk",
            "KAKAO_SENDER_KEY": "sender-key-2",
            "KAKAO_API_KEY": "api-key-3",
            "TEMPORAL_API_KEY": "temporal-key-4",
            "PAYLOAD_KEYS": f"k1:{key}",
        }
    )
    shown = repr(config)
    for secret in ("db-password-1", "sender-key-2", "api-key-3", "temporal-key-4", key, repr(bytes(range(32)))):
        assert secret not in shown
    assert "kakao.test" in shown  # what is not secret is still shown

