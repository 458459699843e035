/** Connecting to Temporal: the dev server, a self-hosted cluster, or Temporal Cloud (TLS, API key). */
import { Client, Connection } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { dataConverterFor } from './codec.js';
import type { Config } from './config.js';
import type { PayloadKey } from './payload-keys.js';
import { StartupError } from './process.js';
import { tracingClientInterceptors } from './tracing.js';

export type TemporalAccess = Config['temporal']['access'];

/**
 * What a connection to Temporal needs beyond its address: TLS (with a client certificate and key
 * for mutual TLS, and a private CA if any) and an API key, as Temporal Cloud asks; nothing for the
 * dev server. The PEM files are read here, at start: a missing one is a one-line start-up error.
 */
export function temporalConnection(access: TemporalAccess | undefined) {
  if (!access?.tls) return {};
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StartupError(`${what} ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  const tls = {
    ...(access.certPath && access.keyPath
      ? { clientCertPair: { crt: read(access.certPath, 'TEMPORAL_TLS_CERT'), key: read(access.keyPath, 'TEMPORAL_TLS_KEY') } }
      : {}),
    ...(access.caPath ? { serverRootCACertificate: read(access.caPath, 'TEMPORAL_TLS_CA') } : {}),
  };
  return { tls: Object.keys(tls).length > 0 ? tls : true, ...(access.apiKey ? { apiKey: access.apiKey } : {}) };
}

export async function connectTemporal(address: string, namespace: string, payloadKeys: PayloadKey[] | undefined, access: TemporalAccess | undefined) {
  const options = temporalConnection(access);
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000, ...options });
    await connection.workflowService.getSystemInfo({});
    // With tracing on (platform/tracing.ts), workflow starts, updates and signals carry the trace.
    const dataConverter = dataConverterFor(payloadKeys);
    const client = new Client({ connection, namespace, interceptors: { workflow: tracingClientInterceptors() }, ...(dataConverter ? { dataConverter } : {}) });
    return { connection, client };
  } catch (err) {
    throw new StartupError(`Temporal unreachable at ${address}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
