/**
 * The Temporal Web UI as an operator's tool: real reservations through the API, then headless
 * Chromium against the dev server's own Web UI. An operator finds reservations by status with a
 * visibility query, opens one by its readable id, and sees the `state` query, the search
 * attributes and the memo; no page of the workflow shows the customer's name or phone number.
 * `UPDATE_WEBUI_SCREENSHOT=1` (`npm run screenshot:webui`) also rewrites docs/webui-reservation.png.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../workers/activities.js';
import { tokenVerifier } from '../../api/auth.js';
import { createCodecApp } from '../../api/codec/app.js';
import { DEFAULT_TOKEN_POLICY } from '../../platform/auth.js';
import { listen } from '../../platform/http.js';
import { startStack } from '../../dev/stack.js';
import { dataConverterFor, EncryptionCodec } from '../../platform/codec.js';
import { createReservationWorker } from '../../workers/worker.js';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../db/schema.js';
import { reservationWorkflowId, stateQuery } from '../../app/reservation/contract.js';
import { NOTIFY_DRAIN_WORKFLOW_TYPE, notifyDrainScheduleId } from '../../shared/queues.js';
import {
  connectClient,
  eventually,
  newProduct,
  newStore,
  notifierQueueOf,
  openTestDb,
  startAssignmentService,
  startTestWorker,
  testApp,
  TEST_ASSIGNMENT_TOKEN,
  TEST_JWT_SECRET,
  type TestAssignmentService,
  type TestWorker,
} from '../helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = fileURLToPath(new URL('../../docs/webui-reservation.png', import.meta.url));
const UI_TIMEOUT_MS = 15_000;

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
let worker: TestWorker;
let browser: Browser;
let ui: string;

// The personal data given with each reservation; none of it may reach Temporal.
const suffix = String(randomInt(1_000_000)).padStart(6, '0');
const confirmedCustomer = { id: `c-webui-${suffix}-a`, name: '홍길순', phone: `010-48${suffix.slice(0, 2)}-${suffix.slice(2)}` };
const cancelledCustomer = { id: `c-webui-${suffix}-b`, name: 'Kim Webui', phone: `010-73${suffix.slice(0, 2)}-${suffix.slice(2)}` };
const personalData = [confirmedCustomer, cancelledCustomer].flatMap((c) => [c.name, c.phone, c.phone.replaceAll('-', '')]);

let product: { id: number; name: string };
let store: { id: string; latitude: number; longitude: number };
let confirmed: { id: string; workflowId: string };
let cancelled: { id: string; workflowId: string };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the Web UI test drives it headless. ` +
        'Install it with `apt-get install -y --no-install-recommends chromium` (Debian/Ubuntu), or set CHROMIUM_PATH.',
    );
  }
  const uiUrl = inject('temporalUiUrl');
  if (!uiUrl) throw new Error('no Temporal Web UI for this run: with TEST_TEMPORAL_ADDRESS, also set TEST_TEMPORAL_UI_URL');
  // The dev server listens on 127.0.0.1 only; "localhost" may resolve to ::1 first.
  const u = new URL(uiUrl);
  if (u.hostname === 'localhost') u.hostname = '127.0.0.1';
  ui = u.origin;

  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
  worker = await startTestWorker(db, { assignmentUrl: assignment.url });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

  // Two reservations of one product, both at a store right next to their customer: one stays
  // CONFIRMED, the other is confirmed and then cancelled.
  product = await newProduct(db, 2);
  store = await newStore(db, 2);
  const app = testApp(db, client, worker.taskQueue);
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { id: string; workflowId: string; status: string } };
  };
  const reserve = async (customer: typeof confirmedCustomer) => {
    const res = await send('POST', '/reservations', {
      productId: product.id,
      quantity: 1,
      fulfilment: 'PICKUP',
      customer: { ...customer, latitude: store.latitude, longitude: store.longitude },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id, workflowId: res.body.workflowId };
  };
  const until = async (id: string, status: string) => {
    try {
      return await eventually(async () => (await send('GET', `/reservations/${id}`)).body, (r) => r.status === status, 45_000);
    } catch (err) {
      // Say what the workflow is stuck on, not only that it is.
      const { raw } = await client.workflow.getHandle(reservationWorkflowId(id)).describe();
      const pending = (raw.pendingActivities ?? []).map((a) => ({ type: a.activityType?.name, attempt: a.attempt, failure: a.lastFailure?.message }));
      throw new Error(`${(err as Error).message}\npending activities: ${JSON.stringify(pending)}`);
    }
  };
  [confirmed, cancelled] = await Promise.all([reserve(confirmedCustomer), reserve(cancelledCustomer)]);
  expect(confirmed.workflowId).toBe(reservationWorkflowId(confirmed.id));
  await Promise.all([until(confirmed.id, 'CONFIRMED'), until(cancelled.id, 'CONFIRMED')]);
  expect((await send('POST', `/reservations/${cancelled.id}/cancel`, { reason: 'web ui test' })).status).toBe(202);
  await until(cancelled.id, 'CANCELLED');

  // Visibility is eventually consistent: wait until it agrees, so the UI checks test the UI.
  const count = async (status: string) => Number((await client.workflow.count(`ReservationStatus="${status}" AND ProductId="${product.id}"`)).count);
  await eventually(async () => [await count('CONFIRMED'), await count('CANCELLED')], ([a, b]) => a === 1 && b === 1);
  // The UI is served by the same process as the frontend, but may answer a moment later.
  await eventually(async () => (await fetch(`${ui}/api/v1/settings`).catch(() => undefined))?.status, (s) => s === 200);
}, 110_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

interface UiPage {
  page: Page;
  /** Every /api/v1 response the UI received, its payloads decoded from base64. */
  received: string[];
}

/** A fresh page that never leaves the dev server (the UI's news feed is blocked) and records what the UI fetched. */
async function newPage(origins: string[] = [ui]): Promise<UiPage> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.route((url) => !origins.includes(url.origin), (route) => route.abort());
  const received: string[] = [];
  page.on('response', (res) => {
    if (!res.url().includes('/api/v1/')) return;
    res.text().then((text) => received.push(text, decodedPayloads(text)), () => undefined);
  });
  return { page, received };
}

/** The base64 strings in a JSON body (Temporal payload data, indexed fields), decoded. */
function decodedPayloads(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '';
  }
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string') {
      if (node.length >= 4 && node.length % 4 === 0 && /^[A-Za-z0-9+/]+=*$/.test(node)) out.push(Buffer.from(node, 'base64').toString('utf8'));
    } else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(parsed);
  return out.join('\n');
}

const listUrl = (query: string) => `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;

/** The JSON a read-only code view (the UI's CodeMirror blocks) shows, parsed. */
async function shownJson(view: Locator, mustContain: string): Promise<Record<string, unknown>> {
  await expect.poll(() => view.innerText(), { timeout: UI_TIMEOUT_MS, message: `${mustContain} never appeared` }).toContain(mustContain);
  const text = await view.innerText();
  return JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as Record<string, unknown>;
}

/** Opens a tab of the workflow page by its test id (`queries`, `memo`, …). */
async function openTab(page: Page, tab: string) {
  await page.getByTestId(`${tab}-tab`).click();
  await expect.poll(() => page.getByTestId(`${tab}-tab`).getAttribute('aria-selected'), { timeout: UI_TIMEOUT_MS }).toBe('true');
}

/** Runs the `state` query from the Queries tab and returns the result it shows. */
async function runStateQuery(page: Page) {
  await openTab(page, 'queries');
  // The tab first asks the worker which queries exist; without a worker it spins forever.
  await page.getByTestId('query-select-button').click();
  // The option shows the query's name and its description.
  await page.getByRole('option', { name: /^state\b/ }).first().click();
  expect(await page.getByTestId('query-select').inputValue()).toBe('state');
  await page.getByRole('button', { name: /^(Run|Refresh) Query$/ }).click();
  return shownJson(page.getByTestId('query-result'), '"status"');
}

/** The workflow page, opened from the operator's list filtered by status (and this test's product). */
async function openFromConfirmedList(page: Page) {
  await page.goto(listUrl(`ReservationStatus="CONFIRMED" AND ProductId="${product.id}"`));
  await page.getByRole('link', { name: confirmed.workflowId, exact: true }).click();
  await page.waitForURL((url) => url.pathname.includes(`/workflows/${confirmed.workflowId}/`));
  await page.getByRole('heading', { name: confirmed.workflowId }).waitFor();
}

describe('the Temporal Web UI, as an operator uses it', () => {
  it('lists reservations by ReservationStatus: the CONFIRMED one under CONFIRMED, the cancelled one only under CANCELLED', async () => {
    const { page } = await newPage();
    try {
      await page.goto(listUrl(`ReservationStatus="CONFIRMED" AND ProductId="${product.id}"`));
      // The UI parsed the query into its filter chips, as if the operator had built it.
      await page.getByText('ReservationStatus = "CONFIRMED"', { exact: true }).first().waitFor();
      await page.getByRole('link', { name: confirmed.workflowId, exact: true }).waitFor();
      expect(await page.getByText(cancelled.workflowId).count(), 'the cancelled reservation is listed as CONFIRMED').toBe(0);
      expect(await page.getByRole('link', { name: /^reservation-/ }).count(), 'only the one CONFIRMED reservation of this product').toBe(1);

      // The control: the cancelled reservation is in visibility, just under its own status.
      await page.goto(listUrl(`ReservationStatus="CANCELLED" AND ProductId="${product.id}"`));
      await page.getByRole('link', { name: cancelled.workflowId, exact: true }).waitFor();
      expect(await page.getByText(confirmed.workflowId).count(), 'the confirmed reservation is listed as CANCELLED').toBe(0);
    } finally {
      await page.close();
    }
  });

  it('shows the state query result, the search attributes and the memo of a CONFIRMED reservation', async () => {
    const { page } = await newPage();
    try {
      await openFromConfirmedList(page);
      // User Metadata: the summary given at start, and the details the workflow keeps current.
      await openTab(page, 'user-metadata');
      // The UI renders both as Markdown inside sandboxed frames.
      const allText = async () => (await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')))).join('\n');
      await expect.poll(allText, { timeout: UI_TIMEOUT_MS }).toContain(`${product.name} ×1 · PICKUP`);
      // The two frames render one after the other: wait for the details too.
      await expect.poll(allText, { timeout: UI_TIMEOUT_MS }).toContain(`store: Test store ${store.id}`);
      const metadata = await allText();
      expect(metadata).toContain(`store: Test store ${store.id} (${store.id})`);
      expect(metadata).toMatch(/\bCONFIRMED\b/);
      const state = await runStateQuery(page);
      expect(state).toMatchObject({
        reservationId: confirmed.id,
        status: 'CONFIRMED',
        productId: product.id,
        quantity: 1,
        fulfilment: 'PICKUP',
        store: { storeId: store.id, storeName: `Test store ${store.id}`, distanceKm: 0, fallback: false },
      });
      expect(state.holdUntil).toEqual(expect.any(String));
      if (process.env.UPDATE_WEBUI_SCREENSHOT) {
        // Clicking may have scrolled the (slightly too wide) page sideways.
        await page.evaluate("document.querySelectorAll('*').forEach((el) => { el.scrollLeft = 0; })");
        await page.mouse.move(1000, 850);
        writeFileSync(SCREENSHOT, await page.screenshot());
      }

      await openTab(page, 'search-attributes');
      const attributes = await shownJson(page.getByRole('textbox', { name: 'Search Attributes', exact: true }), 'ReservationStatus');
      expect(attributes).toMatchObject({
        ReservationStatus: 'CONFIRMED',
        ProductId: String(product.id),
        CustomerId: confirmedCustomer.id,
        StoreId: store.id,
      });

      await openTab(page, 'memo');
      const memo = await shownJson(page.getByRole('textbox', { name: 'Memo', exact: true }), 'fulfilment');
      expect(memo.fields ?? memo).toEqual({ product: product.name, quantity: 1, fulfilment: 'PICKUP' });
    } finally {
      await page.close();
    }
  });

  it("lists the notification drain beside the reservations, shows its calls to the notifier, and the Python worker polling its task queue", async () => {
    const { page, received } = await newPage();
    try {
      // An operator finds the drain by its type, as its Schedule starts it.
      const drainId = `${notifyDrainScheduleId(worker.taskQueue)}-`;
      await page.goto(listUrl(`WorkflowType="${NOTIFY_DRAIN_WORKFLOW_TYPE}" AND TaskQueue="${worker.taskQueue}"`));
      await page.getByRole('link', { name: new RegExp(`^${drainId}`) }).first().click();
      await page.waitForURL((url) => url.pathname.includes(`/workflows/${drainId}`));
      await openTab(page, 'history');
      await expect.poll(() => page.locator('main').innerText(), { timeout: UI_TIMEOUT_MS }).toContain('notifyPending');
      // The task queue's page: what the UI fetched for it names the Python worker polling,
      // notifier-<pid>@<host>. (Which of the page's tabs shows it first varies with the UI's version.)
      await page.goto(`${ui}/namespaces/default/task-queues/${encodeURIComponent(notifierQueueOf(worker.taskQueue))}`);
      await page.getByText('Pollers').first().waitFor();
      await expect.poll(() => received.join('\n'), { timeout: UI_TIMEOUT_MS }).toMatch(/"identity":\s*"notifier-\d+@/);
    } finally {
      await page.close();
    }
  });

  it("shows no personal data on any of the workflow's pages, nor in anything the UI fetched", async () => {
    const { page, received } = await newPage();
    const shown: string[] = [];
    const look = async (where: string) => shown.push(`--- ${where}\n${await page.locator('body').innerText()}\n${await page.content()}`);
    try {
      await openFromConfirmedList(page);
      await look('list and summary');

      await openTab(page, 'history');
      const input = await shownJson(page.getByRole('textbox', { name: 'Input', exact: true }), 'customerId');
      expect(input).toMatchObject({ reservationId: confirmed.id, productId: product.id, customerId: confirmedCustomer.id });
      await page.getByTestId('event-summary-row').first().waitFor();
      await look('event history');
      await page.getByTestId('json').click();
      await expect.poll(() => page.locator('main').innerText(), { timeout: UI_TIMEOUT_MS }).toContain('WorkflowExecutionStarted');
      await look('event history as JSON');

      const state = await runStateQuery(page);
      expect(state.status).toBe('CONFIRMED');
      await look('queries');
      // Each tab once its content is there.
      const ready: Record<string, () => Promise<unknown>> = {
        'search-attributes': () => shownJson(page.getByRole('textbox', { name: 'Search Attributes', exact: true }), 'CustomerId'),
        memo: () => shownJson(page.getByRole('textbox', { name: 'Memo', exact: true }), 'fulfilment'),
        'user-metadata': () => page.getByText('Summary', { exact: true }).first().waitFor(),
        timeline: () => page.getByText('reserveStock').first().waitFor(),
      };
      for (const [tab, loaded] of Object.entries(ready)) {
        await openTab(page, tab);
        await loaded();
        await look(tab);
      }

      const pages = shown.join('\n');
      const fetched = received.join('\n');
      // The controls: the scan sees the workflow's own data where the UI shows it, and the
      // whole history the UI fetched, its payloads decoded.
      const controls = {
        shownCustomerId: pages.includes(confirmedCustomer.id),
        fetchedInput: fetched.includes(`"customerId":"${confirmedCustomer.id}"`),
        fetchedHistory: fetched.includes('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED') && fetched.includes('assignStore'),
        fetchedStateQuery: fetched.includes(`"storeId":"${store.id}"`),
      };
      expect(controls).toEqual({ shownCustomerId: true, fetchedInput: true, fetchedHistory: true, fetchedStateQuery: true });
      const leaks = personalData.flatMap((item) => [
        ...(pages.includes(item) ? [`"${item}" shown on a page`] : []),
        ...(fetched.includes(item) ? [`"${item}" sent to the UI`] : []),
      ]);
      expect(leaks, 'personal data in the Web UI').toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the Web UI over sealed payloads (PAYLOAD_KEYS)', () => {
  // A dev server of its own, whose UI sends what it fetched to the codec endpoint, as `npm start` wires it.
  const ports = { temporal: 17293, ui: 18293, codec: 18294 };
  const sealedUi = `http://127.0.0.1:${ports.ui}`;
  const codecUrl = `http://127.0.0.1:${ports.codec}`;
  const keys = [{ id: 'ui-test', key: randomBytes(32) }];
  const stops: (() => Promise<unknown>)[] = [];
  let sealedId: string;

  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-webui-codec-'));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const codec = await listen(
      createCodecApp({ codec: new EncryptionCodec(keys), origins: [sealedUi, `http://localhost:${ports.ui}`], verifyToken: tokenVerifier(TEST_JWT_SECRET, DEFAULT_TOKEN_POLICY), revocationsReady: async () => true, trustLoopback: true }).fetch,
      '127.0.0.1',
      ports.codec,
      'codec endpoint (test)',
    );
    stops.unshift(() => codec.close());
    const temporal = await startStack({ dataDir, parts: ['temporal'], ports: { temporal: ports.temporal, temporalUi: ports.ui }, uiCodecEndpoint: codecUrl });
    stops.unshift(() => temporal.stop());
    const sealedConnection = await Connection.connect({ address: temporal.temporalAddress });
    stops.unshift(() => sealedConnection.close());
    const sealedClient = new Client({ connection: sealedConnection, dataConverter: dataConverterFor(keys)! });
    const nativeConnection = await NativeConnection.connect({ address: temporal.temporalAddress });
    const taskQueue = `webui-codec-${suffix}`;
    const sealedWorker = await createReservationWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      activities: createActivities({ db, assignmentUrl: assignment.url, assignmentToken: TEST_ASSIGNMENT_TOKEN }),
      workflowBundle: { codePath: inject('workflowBundlePath') },
      dataConverter: dataConverterFor(keys)!,
    });
    const running = sealedWorker.run();
    stops.unshift(async () => {
      sealedWorker.shutdown();
      await running;
      await nativeConnection.close();
    });
    const sealedProduct = await newProduct(db, 1);
    const res = await testApp(db, sealedClient, taskQueue).request('/reservations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: sealedProduct.id, customer: { id: `c-sealed-${suffix}`, latitude: store.latitude, longitude: store.longitude } }),
    });
    expect(res.status).toBe(201);
    sealedId = ((await res.json()) as { id: string }).id;
    await eventually(async () => (await sealedClient.workflow.getHandle(reservationWorkflowId(sealedId)).query(stateQuery)).status, (s) => s === 'CONFIRMED', 45_000);
  });
  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
  });

  it('shows the state query decoded through the codec endpoint, while Temporal keeps ciphertext', async () => {
    const { page, received } = await newPage([sealedUi, codecUrl]);
    try {
      await page.goto(`${sealedUi}/namespaces/default/workflows/${reservationWorkflowId(sealedId)}`);
      await page.getByRole('heading', { name: reservationWorkflowId(sealedId) }).waitFor();
      const state = await runStateQuery(page);
      expect(state).toMatchObject({ reservationId: sealedId, status: 'CONFIRMED' });
      // What the UI fetched from Temporal itself was sealed: the readable input came from the codec endpoint.
      const fromTemporal = received.join('\n');
      expect(fromTemporal).toContain('binary/encrypted');
      expect(fromTemporal).not.toContain(`"reservationId":"${sealedId}"`);
    } finally {
      await page.close();
    }
  });
});
