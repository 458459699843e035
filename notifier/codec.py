"""Payload encryption, byte-compatible with the TypeScript workers' `platform/codec.ts`.

A sealed payload's metadata says `encoding: binary/encrypted` and which key sealed it; its data
is a 12-byte nonce, then the AES-256-GCM ciphertext and 16-byte tag of the original payload
serialized as a `temporal.api.common.v1.Payload` protobuf. The drain's workflow (TypeScript) seals
the activity's input, and must be able to open its result.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from .config import PayloadKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("no payload key")
        # The first key seals; all of them open, so a rotated-out key still reads old histories.
        self._current = keys[0]
        self._ciphers = {k.id: AESGCM(k.key) for k in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) for p in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current.id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._current.id.encode()},
            data=nonce + sealed,  # AESGCM appends the tag, as codec.ts does
        )

    def _open(self, payload: Payload) -> Payload:
        # Not sealed: an operator's plain-JSON input from the Web UI or CLI goes through as is.
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError(f'payload sealed with key "{key_id}", which this process does not have')
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag as error:
            raise ValueError(f'payload sealed with key "{key_id}" does not open with it (altered or another key)') from error
        opened = Payload()
        opened.ParseFromString(plain)
        return opened


def data_converter_for(keys: Sequence[PayloadKey]) -> DataConverter:
    if not keys:
        return DataConverter.default
    return dataclasses.replace(DataConverter.default, payload_codec=EncryptionCodec(keys))
