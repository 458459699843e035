/**
 * Payload encryption: every payload of a workflow (inputs, results, signals, queries, activity
 * inputs and results, memos) is sealed with AES-256-GCM before it leaves the worker or a client,
 * so Temporal's persistence holds ciphertext only. The key id travels in the payload's metadata:
 * a new key encrypts from now on while the old ones still decrypt (rotation). A payload that is
 * not sealed (a signal an operator sent from the Web UI or the `temporal` CLI with plain JSON
 * input) passes through as it came.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { PayloadKey } from './payload-keys.js';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: PayloadKey;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new Error('no payload key');
    this.current = keys[0]!;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
      const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: text(ENCODING), [KEY_ID]: text(this.current.id) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (read(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING) return payload;
      const id = read(payload.metadata?.[KEY_ID]) ?? '';
      const key = this.keys.get(id);
      if (!key) throw new ValueError(`payload sealed with key "${id}", which this process does not have`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return proto.temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The data converter of every client and worker: sealed payloads when keys are configured. */
export function dataConverterFor(keys: PayloadKey[] | undefined) {
  return keys && keys.length > 0 ? { payloadCodecs: [new EncryptionCodec(keys)] } : undefined;
}
