/**
 * The outbox relay and its webhook against real PostgreSQL, in a database of its own (a relay
 * delivers every unsent notification it finds, and the other suites' are not this one's to send).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifySignature } from '../activities/notification.js';
import { queueNotification } from '../db/repositories/notifications.js';
import type { Database } from '../db/schema.js';
import { ConfigError, parseConfig } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { startNotificationRelay } from '../workers/notification-relay.js';
import { eventually, isolatedDatabase } from './helpers.js';

const SECRET = 'relay-test-secret-relay-test-secret-0123';
let own: Awaited<ReturnType<typeof isolatedDatabase>>;
let db: Kysely<Database>;
let webhook: Server;
let webhookUrl: string;
const received: { id: string; body: string; signature: string | undefined }[] = [];
/** While set, the webhook holds each request until it is released. */
let holding: Promise<void> | undefined;

beforeAll(async () => {
  own = await isolatedDatabase({ seed: false });
  db = own.db;
  webhook = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      await holding;
      received.push({ id: String(req.headers['x-tshop-delivery']), body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/notify`;
});
afterAll(async () => {
  webhook?.close();
  await own?.drop();
});

/** A reservation with one queued notification, as the workflow's bookkeeping leaves it. */
async function queued(kind: 'ACCEPTED' | 'CONFIRMED' = 'ACCEPTED') {
  const product = await db
    .insertInto('products')
    .values({ sku: `relay-${randomUUID()}`, name: 'Relay phone', brand: 'Test', price_krw: 1, stock: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase();
  await db
    .insertInto('reservations')
    .values({ id, workflow_id: `reservation-${id}`, product_id: product.id, quantity: 1, customer_id: 'c-relay', status: 'ACCEPTED', fulfilment: 'PICKUP', version: 1 })
    .execute();
  await db.insertInto('reservation_contacts').values({ reservation_id: id, customer_id: 'c-relay', name: '김고객', phone: '010-1111-2222' }).execute();
  await queueNotification(db, id, kind);
  return (await db.selectFrom('notifications').select('id').where('reservation_id', '=', id).executeTakeFirstOrThrow()).id;
}

const relayLog = createLogger('relay-test', 'error');

describe('webhook signatures', () => {
  it('signs every delivery with a timestamp: it verifies now, not once replayed later, nor with another body', async () => {
    const id = await queued();
    const relay = startNotificationRelay(db, { webhookUrl, webhookSecret: SECRET }, relayLog, { intervalMs: 50, idleMs: 100 });
    const delivery = await eventually(async () => received.find((r) => r.id === id), (r) => r !== undefined).finally(() => relay.stop());
    expect(delivery!.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, delivery!.signature, delivery!.body)).toBe(true);
    expect(verifySignature(SECRET, delivery!.signature, delivery!.body, Date.now() + 6 * 60_000)).toBe(false);
    expect(verifySignature(SECRET, delivery!.signature, delivery!.body.replace('김고객', '박고객'))).toBe(false);
    expect(verifySignature('another-secret-another-secret-0123456', delivery!.signature, delivery!.body)).toBe(false);
  });

  it('a webhook URL without its secret is a configuration error', () => {
    expect(() => parseConfig({ NOTIFY_WEBHOOK_URL: 'https://notify.example/hook' })).toThrow(ConfigError);
    expect(() => parseConfig({ NOTIFY_WEBHOOK_URL: 'https://notify.example/hook', NOTIFY_WEBHOOK_SECRET: 'short' })).toThrow(/NOTIFY_WEBHOOK_SECRET/);
    expect(parseConfig({ NOTIFY_WEBHOOK_URL: 'https://notify.example/hook', NOTIFY_WEBHOOK_SECRET: SECRET }).notifications.webhookSecret).toBe(SECRET);
  });
});

describe('the relay', () => {
  it('holds no lock or transaction while the webhook answers, and a batch whose relay died is sent by another once its claim lapses', async () => {
    const id = await queued();
    let release!: () => void;
    holding = new Promise<void>((r) => (release = r));
    const first = startNotificationRelay(db, { webhookUrl, webhookSecret: SECRET }, relayLog, { intervalMs: 50, idleMs: 100, claimMs: 1_500 });
    await eventually(() => db.selectFrom('notifications').select('claimed_until').where('id', '=', id).executeTakeFirstOrThrow(), (r) => r.claimed_until !== null);
    // The webhook is holding the call: the row is free to lock, and no session of this database sits in a transaction.
    const locked = await db.transaction().execute((trx) => sql`select id from notifications where id = ${id} for update nowait`.execute(trx));
    expect(locked.rows).toHaveLength(1);
    const open = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`.execute(db);
    expect(Number(open.rows[0]!.n)).toBe(0);

    // The first relay "dies" with its claim taken and nothing marked; a second one sends it once the claim lapses.
    const stopping = first.stop();
    const second = startNotificationRelay(db, { webhookUrl, webhookSecret: SECRET }, relayLog, { intervalMs: 50, idleMs: 100, claimMs: 1_500 });
    await new Promise((r) => setTimeout(r, 2_000));
    holding = undefined;
    release();
    await stopping;
    const row = () => db.selectFrom('notifications').select(['sent_at', 'claimed_until']).where('id', '=', id).executeTakeFirstOrThrow();
    await eventually(row, (r) => r.sent_at !== null);
    await second.stop();
    expect((await row()).claimed_until).toBeNull();
    // Delivered at least once (the held call and the second relay's): receivers de-duplicate by X-Tshop-Delivery.
    expect(received.filter((r) => r.id === id).length).toBeGreaterThanOrEqual(1);
  });

  it('delivers a reservation\'s notifications in order, across relays', async () => {
    const first = await queued('ACCEPTED');
    const reservationId = (await db.selectFrom('notifications').select('reservation_id').where('id', '=', first).executeTakeFirstOrThrow()).reservation_id;
    await queueNotification(db, reservationId, 'CONFIRMED');
    const relays = [1, 2].map(() => startNotificationRelay(db, { webhookUrl, webhookSecret: SECRET }, relayLog, { intervalMs: 20, idleMs: 50 }));
    const mine = await eventually(
      async () => received.map((r) => JSON.parse(r.body) as { reservationId: string; kind: string }).filter((n) => n.reservationId === reservationId),
      (n) => n.length >= 2,
    ).finally(() => Promise.all(relays.map((r) => r.stop())));
    expect(mine.map((n) => n.kind)).toEqual(['ACCEPTED', 'CONFIRMED']);
  });
});
