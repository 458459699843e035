/** Payload encryption without a server: what leaves a process is sealed, and comes back whole. */
import { defaultPayloadConverter, ValueError, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { dataConverterFor, EncryptionCodec } from '../../platform/codec.js';
import { parsePayloadKeys } from '../../platform/payload-keys.js';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const [current, previous] = parsePayloadKeys(`k2:${key(2)},k1:${key(1)}`) as [ReturnType<typeof parsePayloadKeys>[number], ReturnType<typeof parsePayloadKeys>[number]];
const VALUE = { reservationId: '7K3F9Q2M4XTB', customerId: 'c-1', phone: '01012345678' };
const plain = (): Payload => defaultPayloadConverter.toPayload(VALUE)!;
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('latin1') + JSON.stringify(p.metadata, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v));

describe('EncryptionCodec', () => {
  it('seals payloads (AES-256-GCM, key id in the metadata) and opens them again', async () => {
    const codec = new EncryptionCodec([current, previous]);
    const [sealed] = await codec.encode([plain()]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect(text(sealed!)).not.toContain('01012345678');
    expect(text(sealed!)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(VALUE);
  });

  it('uses a fresh nonce each time: the same value never seals the same way', async () => {
    const codec = new EncryptionCodec([current]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('opens what an older key sealed after a rotation, and refuses a key it does not have', async () => {
    const [byOld] = await new EncryptionCodec([previous]).encode([plain()]);
    const [opened] = await new EncryptionCodec([current, previous]).decode([byOld!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(VALUE);
    await expect(new EncryptionCodec([current]).decode([byOld!])).rejects.toThrow(ValueError);
    await expect(new EncryptionCodec([current]).decode([byOld!])).rejects.toThrow('payload sealed with key "k1"');
  });

  it('refuses a payload altered in storage', async () => {
    const codec = new EncryptionCodec([current]);
    const [sealed] = await codec.encode([plain()]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow();
  });

  it('passes a plain payload through (a signal sent from the Web UI or the CLI as JSON)', async () => {
    const codec = new EncryptionCodec([current]);
    const [passed] = await codec.decode([plain()]);
    expect(defaultPayloadConverter.fromPayload(passed!)).toEqual(VALUE);
  });

  it('is only used when keys are configured', () => {
    expect(() => new EncryptionCodec([])).toThrow('no payload key');
    expect(dataConverterFor(undefined)).toBeUndefined();
    expect(dataConverterFor([])).toBeUndefined();
    expect(dataConverterFor([current])?.payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
  });
});

describe('parsePayloadKeys', () => {
  it('reads `<id>:<base64 of 32 bytes>` lists and refuses anything else', () => {
    expect(parsePayloadKeys(` a.b-1:${key(3)} `)).toEqual([{ id: 'a.b-1', key: Buffer.alloc(32, 3) }]);
    for (const bad of [`k1:${Buffer.alloc(16).toString('base64')}`, 'k1', `:${key(1)}`, `bad id:${key(1)}`]) {
      expect(() => parsePayloadKeys(bad), bad).toThrow(/each key is <id>:<base64 of 32 bytes>/);
    }
  });
});
