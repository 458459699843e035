/**
 * Reaching a Temporal cluster that asks for more than an address (Temporal Cloud): an API key or
 * mutual TLS, from the configuration into the connection. The dev server speaks plain gRPC, so a
 * connection that really uses TLS fails against it: that is how this test sees TLS in use.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { StartupError } from '../../platform/process.js';
import { connectTemporal, temporalConnection } from '../../platform/temporal.js';
import { ConfigError, parseConfig } from '../../platform/config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tshop-tls-'));
const pem = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('the connection to Temporal', () => {
  it('is plain without settings (the dev server), TLS with an API key, mutual TLS with a client certificate', () => {
    expect(temporalConnection(parseConfig({}).temporal.access)).toEqual({});
    expect(temporalConnection(parseConfig({ TEMPORAL_API_KEY: 'key-1' }).temporal.access)).toEqual({ tls: true, apiKey: 'key-1' });
    const cert = pem('client.pem', 'CERT');
    const key = pem('client.key', 'KEY');
    const ca = pem('ca.pem', 'CA');
    const mutual = temporalConnection(parseConfig({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca }).temporal.access);
    expect(mutual).toEqual({ tls: { clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') }, serverRootCACertificate: Buffer.from('CA') } });
    expect(temporalConnection(parseConfig({ TEMPORAL_TLS: '1' }).temporal.access)).toEqual({ tls: true });
  });

  it('refuses a certificate without its key, and names a PEM file it cannot read', () => {
    expect(() => parseConfig({ TEMPORAL_TLS_CERT: '/x.pem' })).toThrow(ConfigError);
    expect(() => parseConfig({ TEMPORAL_TLS_CERT: '/x.pem' })).toThrow(/TEMPORAL_TLS_KEY/);
    const access = parseConfig({ TEMPORAL_TLS_CERT: path.join(dir, 'missing.pem'), TEMPORAL_TLS_KEY: path.join(dir, 'missing.key') }).temporal.access;
    expect(() => temporalConnection(access)).toThrow(StartupError);
    expect(() => temporalConnection(access)).toThrow(/TEMPORAL_TLS_CERT .*missing\.pem/);
  });

  it('really uses TLS when asked: the plain dev server cannot be reached that way, and can without it', async () => {
    const address = inject('temporalAddress');
    const plain = await connectTemporal(address, 'default', undefined, undefined);
    await plain.connection.close();
    await expect(connectTemporal(address, 'default', undefined, parseConfig({ TEMPORAL_API_KEY: 'key-1' }).temporal.access)).rejects.toThrow(StartupError);
  });
});
