from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from notifier.codec import EncryptionCodec, data_converter_for
from notifier.config import parse_payload_keys

VECTOR = json.loads((Path(__file__).parent / "fixtures" / "ts_codec_vector.json").read_text())
KEYS = parse_payload_keys(VECTOR["payloadKeys"])


async def test_round_trip_through_the_data_converter():
    converter = data_converter_for(KEYS)
    value = {"reservationId": "R1", "kinds": ["ACCEPTED"], "delivered": 1}

    [sealed] = await converter.encode([value])

    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == b"k2026"
    assert b"R1" not in sealed.data and len(sealed.data) > 12 + 16
    assert await converter.decode([sealed], [dict]) == [value]


@pytest.mark.parametrize("vector", VECTOR["vectors"], ids=lambda v: v["sealedWith"])
async def test_opens_what_the_typescript_codec_sealed(vector):
    sealed = Payload()
    sealed.ParseFromString(base64.b64decode(vector["sealedPayload"]))
    assert sealed.metadata["encryption-key-id"].decode() == vector["sealedWith"]

    [opened] = await EncryptionCodec(KEYS).decode([sealed])

    assert opened.metadata["encoding"] == b"json/plain"
    assert json.loads(opened.data) == VECTOR["value"]
    assert await data_converter_for(KEYS).decode([sealed], [dict]) == [VECTOR["value"]]


async def test_plain_payloads_pass_through():
    plain = DataConverter.default.payload_converter.to_payloads([{"reservationId": "R1"}])[0]
    assert await EncryptionCodec(KEYS).decode([plain]) == [plain]


async def test_an_unknown_key_fails_clearly():
    [sealed] = await EncryptionCodec(parse_payload_keys("gone:" + base64.b64encode(b"x" * 32).decode())).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"{}")]
    )
    with pytest.raises(ValueError, match='key "gone", which this process does not have'):
        await EncryptionCodec(KEYS).decode([sealed])


async def test_a_tampered_payload_does_not_open():
    [sealed] = await EncryptionCodec(KEYS).encode([Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
    tampered = Payload()
    tampered.CopyFrom(sealed)
    tampered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(ValueError, match="does not open"):
        await EncryptionCodec(KEYS).decode([tampered])


def test_no_keys_means_the_default_converter():
    assert data_converter_for(()) is DataConverter.default
    assert dataclasses.replace(DataConverter.default).payload_codec is None
