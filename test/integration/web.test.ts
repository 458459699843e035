/**
 * The web app (web/, bundled by web/build/esbuild.ts) in headless Chromium against the real API
 * over HTTP — real PostgreSQL, Temporal, worker, assignment service and Python notifier — as a
 * customer on a phone, store staff and the launch desk use it: every change seen without
 * reloading (the event stream, the desk's polling), Korean first and English on request, the
 * reserve flow by keyboard alone, a place in a launch's line followed to its end, the desk's sale
 * controls and charts, and no unlabelled control on any page.
 * `UPDATE_WEB_SCREENSHOTS=1 npx vitest run test/integration/web.test.ts` also rewrites docs/web-*.png.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../web/build/esbuild.js';
import { listen, type RunningServer } from '../../platform/http.js';
import type { Principal } from '../../platform/auth.js';
import { DEFAULT_LINE } from '../../app/launch/line.js';
import { SseParser, type SseEvent } from '../../web/sse.js';
import { formatWait, fromSeoulInput, toSeoulInput } from '../../web/format.js';
import { perMinute } from '../../web/samples.js';
import type { Sale, SalePatch, Sample, Ticket } from '../../web/types.js';
import { assignmentTables, eventually, newProduct, newStore, stockOf, testApp, tokenFor, useTestStack } from '../helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = Boolean(process.env.UPDATE_WEB_SCREENSHOTS);
const docs = (name: string) => fileURLToPath(new URL(`../../docs/web-${name}.png`, import.meta.url));
const UI_TIMEOUT_MS = 15_000;
/** A reservation goes from ACCEPTED to CONFIRMED within seconds; the notifier may wait up to 5 s to send both messages at once. */
const LIVE_TIMEOUT_MS = 45_000;
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };

const stack = useTestStack();
const suffix = String(randomInt(1_000_000)).padStart(6, '0');

let webDir: string;
let browser: Browser;
let api: ReturnType<typeof testApp>;
let server: RunningServer;
let closeStreams: () => Promise<void>;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; install it with \`apt-get install -y --no-install-recommends chromium\` (Debian/Ubuntu), or set CHROMIUM_PATH.`);
  }
  webDir = mkdtempSync(path.join(tmpdir(), 'tshop-web-test-'));
  const built = await buildWeb(webDir);
  expect(built.files).toEqual(expect.arrayContaining(['index.html', expect.stringMatching(/^app-\w+\.js$/), expect.stringMatching(/^app-\w+\.css$/)]));
  // The desk's chart samples every second (not five): a chart has points within a test's seconds.
  api = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, { web: { dir: webDir, devLogin: true }, line: { ...DEFAULT_LINE, sampleEveryMs: 1_000 } });
  closeStreams = () => api.app.close();
  server = await listen(api.app.fetch, '127.0.0.1', 0, 'web test');
  base = server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // Event streams never end by themselves: end them, or closing the server would wait for them.
  await closeStreams?.();
  await server?.close();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

/** A fresh browser profile (its own sessionStorage and localStorage) that never leaves the API's origin. */
async function openPage(options: BrowserContextOptions = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ locale: 'ko-KR', timezoneId: 'Asia/Seoul', ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.route((url) => url.origin !== base, (route) => route.abort());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // A refused Content-Security-Policy shows up here: nothing of the app may be refused.
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) errors.push(msg.text());
  });
  (page as Page & { appErrors: string[] }).appErrors = errors;
  return page;
}
const appErrors = (page: Page) => (page as Page & { appErrors: string[] }).appErrors;

async function close(page: Page) {
  expect(appErrors(page), 'script errors or CSP refusals in the page').toEqual([]);
  await page.context().close();
}

/** Runs `expression` in the page (a string: the tests are type-checked without the DOM's types). */
const inPage = <T,>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

/** Marks the document: the mark survives anything but a reload or a navigation to another page. */
const markDocument = (page: Page) => inPage(page, 'void (window.__tshopMark = 1)');
const stillSameDocument = async (page: Page) => expect(await inPage(page, 'window.__tshopMark'), 'the page was reloaded').toBe(1);

/**
 * Form controls, buttons and links that Chromium's accessibility tree gives no name, with what
 * identifies them; an empty list is the goal. Also how many were checked.
 */
async function unlabelledControls(page: Page): Promise<{ checked: number; unlabelled: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const roles = new Set(['button', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'spinbutton', 'slider', 'switch', 'link', 'menuitem', 'tab', 'meter']);
    const controls = nodes.filter((n) => !n.ignored && roles.has(String(n.role?.value)));
    const unlabelled = controls
      .filter((n) => String(n.name?.value ?? '').trim() === '')
      .map((n) => `${String(n.role?.value)} (backend node ${n.backendDOMNodeId})`);
    // The DOM's view as well: every control has a label, aria-label(ledby) or text.
    const dom = await inPage<string[]>(
      page,
      `[...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => el.getClientRects().length > 0)
        .filter((el) => {
          const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim())) || (el.getAttribute('aria-label') || '').trim() || el.getAttribute('aria-labelledby');
          return !labelled && !(el.tagName === 'BUTTON' && el.textContent.trim());
        })
        .map((el) => el.outerHTML.slice(0, 120))`,
    );
    return { checked: controls.length, unlabelled: [...unlabelled, ...dom] };
  } finally {
    await cdp.detach();
  }
}

async function expectAllLabelled(page: Page, what: string) {
  const { checked, unlabelled } = await unlabelledControls(page);
  expect(checked, `no controls found on ${what}`).toBeGreaterThan(0);
  expect(unlabelled, `unlabelled controls on ${what}`).toEqual([]);
}

/** The element with keyboard focus, described. */
const focused = (page: Page) =>
  inPage<{ tag: string; id: string; label: string; text: string; outline: string }>(
    page,
    `(() => {
      const el = document.activeElement;
      if (!el) return { tag: '', id: '', label: '', text: '', outline: 'none' };
      return { tag: el.tagName, id: el.id, label: el.getAttribute('aria-label') || '', text: (el.textContent || '').trim(), outline: getComputedStyle(el).outlineStyle };
    })()`,
  );

/** Presses Tab until `match` says the focused element is the one wanted; fails after `max` presses. */
async function tabTo(page: Page, what: string, match: (f: Awaited<ReturnType<typeof focused>>) => boolean, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (match(f)) {
      // Focus is visible: the focused control draws an outline.
      expect(f.outline, `${what} has no visible focus`).not.toBe('none');
      return f;
    }
  }
  throw new Error(`Tab never reached ${what} in ${max} presses`);
}

/** A walk-in's number of its own (units are limited per phone number too). */
let walkIns = 0;
const walkInPhone = () => `010-5${String(randomInt(1000)).padStart(3, '0')}-${String(++walkIns).padStart(4, '0')}`;

/** Reserves `productId` through the API as an admin for a customer standing at `where`. */
async function reserveViaApi(productId: number, customerId: string, where: { latitude: number; longitude: number }) {
  const res = await api.request('/reservations', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ productId, quantity: 1, fulfilment: 'PICKUP', customer: { id: customerId, name: '테스트', phone: walkInPhone(), ...where } }),
  });
  const body = (await res.json()) as { id: string; status: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function reservationOf(id: string) {
  const res = await api.request(`/reservations/${id}`);
  return (await res.json()) as { id: string; status: string; store: { id: string; name: string; distanceKm: number | null; address: string | null } | null };
}
const untilStatus = (id: string, status: string) => eventually(() => reservationOf(id), (r) => r.status === status, LIVE_TIMEOUT_MS);

const json = { 'content-type': 'application/json' };
const customer = (sub: string): Principal => ({ role: 'customer', sub });

/** The desk sets a product's sale (as an admin, through the API). */
async function setSale(productId: number, patch: SalePatch): Promise<Sale> {
  const res = await api.request(`/products/${productId}/sale`, { method: 'PATCH', headers: json, body: JSON.stringify(patch) });
  const body = (await res.json()) as Sale;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function saleOf(productId: number): Promise<Sale> {
  return (await (await api.request(`/products/${productId}/sale`)).json()) as Sale;
}

/** A customer takes a place in a product's line through the API. */
async function joinViaApi(productId: number, sub: string): Promise<Ticket> {
  const res = await api.request(`/products/${productId}/tickets`, { method: 'POST', headers: json, body: JSON.stringify({ customer: { district: '강남구' } }) }, customer(sub));
  const body = (await res.json()) as Ticket;
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body;
}

async function ticketOf(id: string, sub: string): Promise<Ticket> {
  return (await (await api.request(`/tickets/${id}`, {}, customer(sub))).json()) as Ticket;
}

/** Waits for the desk's next `n` refreshes (its "as of" time moves on with each). */
async function refreshes(page: Page, n: number) {
  const lead = page.locator('.page-header .lead');
  for (let i = 0; i < n; i++) {
    const before = await lead.innerText();
    await expect.poll(() => lead.innerText(), { timeout: UI_TIMEOUT_MS }).not.toBe(before);
  }
}

/**
 * Lets exactly one more place of a paused line in: resumes, waits until the line has passed it,
 * pauses again. At 0.5 tickets a second the line lets in one at a time, two seconds apart: far
 * longer than the pause takes to follow.
 */
async function admitOne(productId: number) {
  const before = (await saleOf(productId)).queue.admitted;
  await setSale(productId, { paused: false });
  await eventually(() => saleOf(productId), (s) => s.queue.admitted > before, UI_TIMEOUT_MS);
  const after = await setSale(productId, { paused: true });
  expect(after.queue.admitted, 'the line let in more than one').toBe(before + 1);
}

describe('the bundle and what it relies on', () => {
  it('reads server-sent events split anywhere: CRLF across chunks, comments, multi-line data, an event without data', () => {
    const text = ': keep-alive\r\n\r\nevent: ready\r\ndata: {}\r\n\r\nevent: reservation\nid: A:1\ndata: {"id":"A",\ndata: "s":"한국어"}\n\n: keep-alive\n\nevent: ready\n\ndata: x\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
      parser.end();
      expect(events, `chunks of ${size}`).toEqual([
        { event: 'ready', data: '{}', id: '' },
        { event: 'reservation', data: '{"id":"A",\n"s":"한국어"}', id: 'A:1' },
        { event: 'ready', data: '', id: 'A:1' },
      ]);
      expect(comments).toEqual(['keep-alive', 'keep-alive']);
    }
  });

  it('says a wait as people do, reads the desk\'s times in Seoul, and takes reservations per minute from the slope of the units taken', () => {
    expect(formatWait({ seconds: 180, low: 120, high: 300 }, 'ko')).toBe('약 3분 (2–5분)');
    expect(formatWait({ seconds: 180, low: 120, high: 300 }, 'en')).toBe('about 3 min (2–5 min)');
    expect(formatWait({ seconds: 40, low: 30, high: 50 }, 'ko')).toBe('약 40초 (30초–50초)');
    expect(formatWait({ seconds: 600, low: 590, high: 610 }, 'ko')).toBe('약 10분');
    expect(formatWait({ seconds: 4000, low: 3000, high: 5000 }, 'ko')).toBe('약 1시간 7분 (50분–1시간 23분)');
    expect(toSeoulInput('2026-12-24T01:00:00.000Z')).toBe('2026-12-24T10:00');
    expect(fromSeoulInput('2026-12-24T10:00')).toBe('2026-12-24T10:00:00+09:00');
    expect(fromSeoulInput('')).toBeNull();
    // Samples are taken when figures move: `accepted` holds between them, so the minute before a
    // sample starts at the last sample a minute or more before it.
    const at = (s: number) => new Date(Date.UTC(2026, 11, 24, 1, 0, s)).toISOString();
    const samples: Sample[] = [0, 10, 30, 70, 75, 140].map((s, i) => ({ at: at(s), stock: 0, claimed: 0, waiting: 0, admitted: 0, accepted: [0, 5, 20, 30, 34, 34][i]! }));
    expect(perMinute(samples)).toEqual([0, 5, 20, 30 - 5, 34 - 5, 34 - 34]);
  });

  it('serves the page and its hashed assets under the Content-Security-Policy, with nothing inline', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    const assets = [...html.matchAll(/(?:src|href)="(\/app\/app-\w+\.(?:js|css))"/g)].map((m) => m[1]!);
    // The stylesheet, the entry script, and the chunk it shares with the desk's charts (preloaded).
    expect(assets.filter((a) => a.endsWith('.css'))).toHaveLength(1);
    expect(html).toMatch(/<script type="module" src="\/app\/app-\w+\.js"><\/script>/);
    expect(html).toMatch(/<link rel="modulepreload" href="\/app\/app-\w+\.js" \/>/);
    for (const asset of assets) expect((await fetch(`${base}${asset}`)).status).toBe(200);
  });
});

describe('the API docs (/docs)', () => {
  it('run under their Content-Security-Policy, are never framed, and keep a token given to Authorize out of localStorage', async () => {
    const res = await fetch(`${base}/docs`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const page = await openPage();
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor();
    const token = await tokenFor({ role: 'admin', sub: `docs-${suffix}` });
    await page.locator('.btn.authorize').first().click();
    await page.locator('.auth-container input').first().fill(token);
    await page.locator('.auth-container button.modal-btn.authorize').first().click();
    // Authorized: the modal offers to remove it instead.
    await page.getByRole('button', { name: 'Remove authorization' }).waitFor();
    expect(await inPage<string>(page, 'JSON.stringify(Object.assign({}, localStorage))')).not.toContain(token);
    expect(await inPage<string>(page, 'JSON.stringify(Object.assign({}, sessionStorage))')).not.toContain(token);
    await close(page);
  });
});

describe('the web app', () => {
  it('a customer on a phone reserves with a district, sees 배정대기 then 예약접수완료 with the store live, reads the messages, cancels, and reads it in English', async () => {
    const product = await newProduct(stack.db, 3);
    const page = await openPage(PHONE);
    try {
      await page.goto(`${base}/`);
      const customer = page.locator('button[data-sub="c-4"]');
      await customer.waitFor();
      expect(await inPage(page, 'document.documentElement.lang')).toBe('ko');
      await expectAllLabelled(page, 'the sign-in page');
      if (SCREENSHOTS) writeFileSync(docs('sign-in'), await page.screenshot());
      await customer.click();
      await page.waitForURL(/#\/customer$/);
      await page.getByText('실시간 연결됨').waitFor();
      await markDocument(page);

      // The catalogue has the product with its stock.
      await page.getByLabel('휴대폰 검색').fill(product.name);
      const card = page.locator(`[data-product-id="${product.id}"]`);
      await expect.poll(() => card.locator('[data-field="stock"]').innerText()).toBe('재고 3대');

      // The assignment service fails for a moment: the reservation stays 배정대기 until it answers.
      stack.assignment.setFailing(true);
      const callsBefore = stack.assignment.calls();
      try {
        await card.getByRole('button', { name: `${product.name} 예약하기` }).click();
        const dialog = page.getByRole('dialog');
        await dialog.waitFor();
        // Whom the messages go to comes from the identity, shown, not asked; the district is chosen here.
        const identities = (await (await fetch(`${base}/dev/identities`)).json()) as { customers: { sub: string; name: string; phone: string }[] };
        const demo = identities.customers.find((c) => c.sub === 'c-4')!;
        expect(await dialog.locator('[data-field="contact"]').innerText()).toBe(`${demo.name} · ${demo.phone}`);
        expect(await dialog.locator('input[name="name"], input[name="phone"]').count()).toBe(0);
        await dialog.getByLabel('자치구 (서울)').selectOption('강남구');
        await expectAllLabelled(page, 'the reserve dialog');
        await dialog.getByRole('button', { name: '예약 신청', exact: true }).click();
        await dialog.waitFor({ state: 'detached' });

        const reservation = page.locator('article[data-reservation-id]', { hasText: product.name });
        await reservation.waitFor();
        await expect.poll(() => reservation.locator('.status').innerText()).toBe('배정대기');
        await eventually(async () => stack.assignment.calls(), (n) => n > callsBefore, LIVE_TIMEOUT_MS);
      } finally {
        stack.assignment.setFailing(false);
      }
      const reservation = page.locator('article[data-reservation-id]', { hasText: product.name });
      const id = (await reservation.getAttribute('data-reservation-id'))!;

      // 예약접수완료 arrives by the event stream, with the store, its distance and its address.
      await expect.poll(() => reservation.locator('.status').innerText(), { timeout: LIVE_TIMEOUT_MS }).toBe('예약접수완료');
      const confirmed = await reservationOf(id);
      expect(confirmed.status).toBe('CONFIRMED');
      const store = confirmed.store!;
      const shown = await reservation.innerText();
      expect(shown).toContain(id);
      expect(shown).toContain(store.name);
      if (store.address) expect(shown).toContain(store.address);
      const distance = /거리\s*([\d.,]+)\s*(km|m)\b/.exec(shown);
      expect(distance, `no distance in ${shown}`).not.toBeNull();
      const km = Number(distance![1]!.replace(/,/g, '')) / (distance![2] === 'm' ? 1000 : 1);
      expect(km).toBeCloseTo(store.distanceKm ?? 0, 1);
      expect(shown).toMatch(/수령 기한/);
      await stillSameDocument(page);

      // The messages: 예약 접수 and 예약접수완료, as sent (Korean).
      await reservation.getByRole('button', { name: '받은 알림 메시지 보기' }).click();
      const messages = reservation.locator('.message-list');
      await expect.poll(() => messages.locator('[data-kind="ACCEPTED"] .message-text').count(), { timeout: LIVE_TIMEOUT_MS }).toBe(1);
      await expect.poll(() => messages.locator('[data-kind="CONFIRMED"] .message-text').count(), { timeout: LIVE_TIMEOUT_MS }).toBe(1);
      expect(await messages.locator('[data-kind="ACCEPTED"]').innerText()).toContain('[Tshop] 예약 접수 안내');
      const confirmation = await messages.locator('[data-kind="CONFIRMED"]').innerText();
      expect(confirmation).toContain('[Tshop] 예약접수완료');
      expect(confirmation).toContain(id);
      expect(confirmation).toContain('발송 완료');
      if (SCREENSHOTS) writeFileSync(docs('customer-phone'), await page.screenshot());

      // Cancel, with a confirmation step: 예약취소완료, live.
      await reservation.getByRole('button', { name: `${product.name} 예약 취소` }).click();
      await reservation.getByText('이 예약을 취소할까요?').waitFor();
      await reservation.getByLabel('취소 사유 (선택)').fill('웹 테스트');
      await reservation.getByRole('button', { name: '예약 취소 확정' }).click();
      await expect.poll(() => reservation.locator('.status').innerText(), { timeout: LIVE_TIMEOUT_MS }).toBe('예약취소완료');
      expect((await reservationOf(id)).status).toBe('CANCELLED');
      await expect.poll(() => card.locator('[data-field="stock"]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('재고 3대');

      // English, remembered, and <html lang> follows.
      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => reservation.locator('.status').innerText()).toBe('Cancelled');
      expect(await inPage(page, 'document.documentElement.lang')).toBe('en');
      expect(await inPage(page, "localStorage.getItem('tshop.lang')")).toBe('en');
      await page.getByRole('button', { name: 'Hide messages' }).waitFor();
      await stillSameDocument(page);
    } finally {
      stack.assignment.setFailing(false);
      await close(page);
    }
  }, 150_000);

  it('store staff see a reservation confirmed at their store appear, hand it over so it leaves the list (COMPLETED), and a cancelled one disappear; a dropped stream reconnects', async () => {
    const product = await newProduct(stack.db, 5);
    const store = await newStore(stack.db, 5);
    const page = await openPage(DESKTOP);
    let streams = 0;
    page.on('request', (req) => void (new URL(req.url()).pathname === '/events' && streams++));
    try {
      await page.goto(`${base}/`);
      await page.getByLabel('매장', { exact: true }).selectOption(store.id);
      await page.getByRole('button', { name: '매장 직원으로 로그인' }).click();
      await page.waitForURL(/#\/store$/);
      await page.getByText('실시간 연결됨').waitFor();
      await page.getByText('인계할 예약이 없습니다').waitFor();
      await markDocument(page);

      // Two customers standing at the store: both confirmed there, both appear without reloading.
      const here = { latitude: store.latitude, longitude: store.longitude };
      const cardOf = (id: string) => page.locator(`article[data-reservation-id="${id}"]`);
      const first = await reserveViaApi(product.id, `c-web-${suffix}-a`, here);
      await cardOf(first.id).waitFor({ timeout: LIVE_TIMEOUT_MS });

      // The server drops the stream: the page connects again by itself and hears the next one.
      expect(streams).toBe(1);
      await closeStreams();
      await expect.poll(() => streams, { timeout: UI_TIMEOUT_MS }).toBe(2);
      await page.getByText('실시간 연결됨').waitFor();
      const second = await reserveViaApi(product.id, `c-web-${suffix}-b`, here);
      await cardOf(second.id).waitFor({ timeout: LIVE_TIMEOUT_MS });
      expect(await cardOf(first.id).innerText()).toContain(product.name);
      expect(await cardOf(first.id).innerText()).toContain('예약접수완료');
      await expectAllLabelled(page, 'the store page');
      if (SCREENSHOTS) writeFileSync(docs('store'), await page.screenshot());

      // The hand-over: confirmed with the staff member's name, then gone from the list.
      await cardOf(first.id).getByRole('button', { name: `${first.id} 인계 완료` }).click();
      await cardOf(first.id).getByLabel('담당 직원').fill('김직원');
      await cardOf(first.id).getByRole('button', { name: '인계 확정' }).click();
      await cardOf(first.id).waitFor({ state: 'detached' });
      await page.getByText(`예약 ${first.id}을(를) 인계 완료 처리했습니다.`).waitFor();
      expect((await untilStatus(first.id, 'COMPLETED')).status).toBe('COMPLETED');

      // A cancelled reservation leaves the list by itself.
      const cancel = await api.request(`/reservations/${second.id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'web test' }) });
      expect(cancel.status).toBe(202);
      await cardOf(second.id).waitFor({ state: 'detached', timeout: LIVE_TIMEOUT_MS });
      // The hand-over is not undone by a late event.
      expect(await cardOf(first.id).count()).toBe(0);
      await stillSameDocument(page);
    } finally {
      await close(page);
    }
  }, 150_000);

  it('the launch desk: the counts move live when a reservation is made, restock changes the units left, closing a store shows it closed', async () => {
    const product = await newProduct(stack.db, 4);
    const store = await newStore(stack.db, 2);
    const page = await openPage(DESKTOP);
    try {
      await page.goto(`${base}/`);
      await page.getByRole('button', { name: '런치 데스크 로그인' }).click();
      await page.waitForURL(/#\/desk$/);
      await page.locator('[data-field="breaker"]').waitFor();
      expect(await page.locator('[data-field="breaker"]').innerText()).toMatch(/^(정상 \(닫힘\)|차단됨 \(열림\)|복구 확인 중 \(반열림\)|알 수 없음)$/);
      if (SCREENSHOTS) {
        // The figures, not "loading": the totals come with the desk's first answer.
        await page.locator('.totals').waitFor();
        writeFileSync(docs('desk'), await page.screenshot());
      }
      await markDocument(page);

      await page.getByLabel('상품 검색').fill(product.name);
      const card = page.locator(`[data-product-id="${product.id}"]`);
      const figure = async (field: string) => Number((await card.locator(`[data-field="${field}"]`).innerText()).replace(/[^\d]/g, ''));
      await expect.poll(() => figure('stock')).toBe(4);
      expect(await figure('total')).toBe(0);

      // A reservation is made elsewhere: the desk shows it within its 2 s refresh.
      const made = await reserveViaApi(product.id, `c-web-${suffix}-desk`, { latitude: store.latitude, longitude: store.longitude });
      await expect.poll(() => figure('total'), { timeout: UI_TIMEOUT_MS }).toBe(1);
      await expect.poll(() => figure('stock'), { timeout: UI_TIMEOUT_MS }).toBe(3);
      await expect.poll(() => figure('perMinute'), { timeout: UI_TIMEOUT_MS }).toBe(1);
      await untilStatus(made.id, 'CONFIRMED');
      await expect.poll(() => figure('CONFIRMED'), { timeout: UI_TIMEOUT_MS }).toBe(1);

      // Restock.
      await card.getByLabel(`${product.name} 재입고 수량`).fill('7');
      await card.getByRole('button', { name: `${product.name} 재입고` }).click();
      await card.getByText(`${product.name} 7대를 재입고했습니다.`).waitFor();
      await expect.poll(() => figure('stock'), { timeout: UI_TIMEOUT_MS }).toBe(10);
      expect(await stockOf(stack.db, product.id)).toBe(10);

      // Close the store, and open it again.
      await page.getByLabel('매장 검색').fill(store.id);
      const row = page.locator(`[data-store-id="${store.id}"]`);
      await expect.poll(() => row.innerText()).toContain('1/2');
      await row.getByRole('button', { name: `Test store ${store.id} 영업 중지` }).click();
      await expect.poll(() => row.locator('[data-field="isOpen"]').innerText()).toBe('영업중지');
      const isOpen = async () => (await assignmentTables(stack.db).selectFrom('assignment.stores').select('is_open').where('id', '=', store.id).executeTakeFirstOrThrow()).is_open;
      expect(await isOpen()).toBe(false);
      // Still closed after the next refreshes (the server's answer, not only the click).
      await page.waitForTimeout(2_500);
      expect(await row.locator('[data-field="isOpen"]').innerText()).toBe('영업중지');
      await row.getByRole('button', { name: `Test store ${store.id} 영업 재개` }).click();
      await expect.poll(() => row.locator('[data-field="isOpen"]').innerText()).toBe('영업중');
      expect(await isOpen()).toBe(true);

      await expectAllLabelled(page, 'the launch desk');
      await stillSameDocument(page);
    } finally {
      await close(page);
    }
  }, 150_000);

  it("the customer's reserve flow works with the keyboard alone (Tab and Enter), with visible focus, and no control is unlabelled", async () => {
    const product = await newProduct(stack.db, 2);
    const page = await openPage(DESKTOP);
    try {
      await page.goto(`${base}/`);
      await page.locator('button[data-sub="c-3"]').waitFor();
      await tabTo(page, 'the demo customer c-3', (f) => f.tag === 'BUTTON' && f.text.includes('c-3'));
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/customer$/);
      await page.locator(`[data-product-id="${product.id}"]`).waitFor();

      await tabTo(page, 'the phone search', (f) => f.id === 'catalogue-search');
      await page.keyboard.type(product.name);
      await tabTo(page, `the reserve button of ${product.name}`, (f) => f.label === `${product.name} 예약하기`);
      await page.keyboard.press('Enter');
      await page.getByRole('dialog').waitFor();
      await expectAllLabelled(page, 'the reserve dialog');
      await tabTo(page, 'the submit button', (f) => f.tag === 'BUTTON' && f.text === '예약 신청', 20);
      await page.keyboard.press('Enter');

      const reservation = page.locator('article[data-reservation-id]', { hasText: product.name });
      await reservation.waitFor({ timeout: LIVE_TIMEOUT_MS });
      const id = (await reservation.getAttribute('data-reservation-id'))!;
      // The new reservation takes the focus, so the keyboard user is where the news is.
      await expect.poll(() => inPage(page, 'document.activeElement && document.activeElement.dataset.reservationId')).toBe(id);
      await expect.poll(() => reservation.locator('.status').innerText(), { timeout: LIVE_TIMEOUT_MS }).toBe('예약접수완료');
      await expectAllLabelled(page, 'the customer page');
      if (SCREENSHOTS) {
        // The whole catalogue (the demo phones first) beside the reservation.
        await page.getByLabel('휴대폰 검색').fill('');
        await page.getByLabel('휴대폰 검색').blur();
        await page.mouse.move(0, 0);
        writeFileSync(docs('customer'), await page.screenshot());
        await reservation.focus();
      }

      // Cancelling by keyboard too: Tab to it, Enter, Tab to the confirmation, Enter.
      await tabTo(page, 'the cancel button', (f) => f.label === `${product.name} 예약 취소`);
      await page.keyboard.press('Enter');
      await tabTo(page, 'the cancel confirmation', (f) => f.tag === 'BUTTON' && f.text === '예약 취소 확정', 10);
      await page.keyboard.press('Enter');
      await expect.poll(() => reservation.locator('.status').innerText(), { timeout: LIVE_TIMEOUT_MS }).toBe('예약취소완료');
    } finally {
      await close(page);
    }
  }, 150_000);

  it('"use my location": with the permission the nearest store is assigned; refused, the customer is told what to do', async () => {
    const product = await newProduct(stack.db, 2);
    const store = await newStore(stack.db, 2);
    const granted = await openPage({ ...PHONE, geolocation: { latitude: store.latitude, longitude: store.longitude }, permissions: ['geolocation'] });
    try {
      await granted.goto(`${base}/`);
      await granted.locator('button[data-sub="c-2"]').click();
      await granted.getByLabel('휴대폰 검색').fill(product.name);
      await granted.getByRole('button', { name: `${product.name} 예약하기` }).click();
      const dialog = granted.getByRole('dialog');
      await dialog.getByRole('button', { name: '현재 위치 사용', exact: true }).click();
      await dialog.getByText('현재 위치 사용 중').waitFor();
      expect(await dialog.getByLabel('자치구 (서울)').isDisabled()).toBe(true);
      await dialog.getByRole('button', { name: '예약 신청', exact: true }).click();
      const reservation = granted.locator('article[data-reservation-id]', { hasText: product.name });
      await expect.poll(() => reservation.locator('.status').innerText(), { timeout: LIVE_TIMEOUT_MS }).toBe('예약접수완료');
      expect(await reservation.innerText()).toContain(`Test store ${store.id}`);
    } finally {
      await close(granted);
    }

    const refused = await openPage(PHONE);
    try {
      await refused.goto(`${base}/`);
      await refused.locator('button[data-sub="c-2"]').click();
      await refused.getByLabel('휴대폰 검색').fill(product.name);
      await refused.getByRole('button', { name: `${product.name} 예약하기` }).click();
      await refused.getByRole('dialog').getByRole('button', { name: '현재 위치 사용', exact: true }).click();
      await refused.getByText('위치 권한이 거부되었습니다').waitFor();
    } finally {
      await close(refused);
    }
  }, 150_000);

  it('a session whose token stops working (revoked) goes back to sign in and says why', async () => {
    const page = await openPage(DESKTOP);
    try {
      await page.goto(`${base}/`);
      await page.locator('button[data-sub="c-1"]').click();
      await page.waitForURL(/#\/customer$/);
      await page.getByText('실시간 연결됨').waitFor();
      const token = await inPage<string>(page, "JSON.parse(sessionStorage.getItem('tshop.session')).token");
      const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; exp: number };
      const revoked = await api.request('/tokens/revocations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jti, until: new Date(exp * 1000).toISOString() }),
      });
      expect(revoked.status).toBe(201);
      // The stream reconnects (or the catalogue refreshes) with the revoked token: 401, back to sign in.
      await closeStreams();
      await page.waitForURL(/#\/$/, { timeout: UI_TIMEOUT_MS });
      await page.getByText('로그인이 만료되었습니다. 다시 로그인해 주세요.').waitFor();
      expect(await inPage(page, "sessionStorage.getItem('tshop.session')")).toBeNull();
    } finally {
      await close(page);
    }
  }, 90_000);

  it('sold out: 409 OUT_OF_STOCK is shown as what it means', async () => {
    const product = await newProduct(stack.db, 1);
    const page = await openPage(PHONE);
    try {
      await page.goto(`${base}/`);
      await page.locator('button[data-sub="c-5"]').click();
      await page.getByLabel('휴대폰 검색').fill(product.name);
      await page.getByRole('button', { name: `${product.name} 예약하기` }).click();
      // The last unit goes to someone else while the form is open.
      const other = await reserveViaApi(product.id, `c-web-${suffix}-rival`, { latitude: 37.5, longitude: 127.0 });
      // It took the unit: the answer may already show the store assigned (the decision comes first).
      expect(['ACCEPTED', 'CONFIRMED']).toContain(other.status);
      await page.getByRole('dialog').getByRole('button', { name: '예약 신청', exact: true }).click();
      await page.getByText('재고가 없어 예약할 수 없습니다 (예약불가).').waitFor();
      // The problem's own title and detail are shown too.
      await page.getByRole('dialog').getByText(/Out of stock — product \d+ has fewer than 1 unit/).waitFor();
    } finally {
      await close(page);
    }
  }, 90_000);

  it("a launch's line on a phone: joined before the opening, the place kept and the people ahead going as they are admitted, the turn becoming a reservation, and the one behind told it sold out", async () => {
    const product = await newProduct(stack.db, 3);
    // Opening in ten minutes, the desk letting in one every two seconds: the wait is estimated before anything moves.
    const opensAt = new Date(Math.ceil((Date.now() + 10 * 60_000) / 60_000) * 60_000).toISOString();
    await setSale(product.id, { opensAt, admissionRate: 0.5 });
    for (const sub of [`c-web-${suffix}-line-a`, `c-web-${suffix}-line-b`]) await joinViaApi(product.id, sub);

    const page = await openPage(PHONE);
    const behind = await openPage(PHONE);
    // The page with the stream open never needs to ask about its ticket.
    const asked: string[] = [];
    page.on('request', (req) => void (/^\/tickets\/\w+$/.test(new URL(req.url()).pathname) && asked.push(req.url())));
    try {
      await page.goto(`${base}/`);
      await page.locator('button[data-sub="c-2"]').click();
      await page.waitForURL(/#\/customer$/);
      await page.getByText('실시간 연결됨').waitFor();
      await markDocument(page);

      // The catalogue: the opening, counting down, and the line to join.
      await page.getByLabel('휴대폰 검색').fill(product.name);
      const card = page.locator(`[data-product-id="${product.id}"]`);
      await expect.poll(() => card.getAttribute('data-sale'), { timeout: UI_TIMEOUT_MS }).toBe('SCHEDULED');
      expect(await card.locator('[data-field="sale"]').innerText()).toMatch(/판매 시작\s+\d+분( \d+초)? 후/);
      await card.getByRole('button', { name: `${product.name} 줄 서기` }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('heading', { name: `${product.name} 줄 서기` }).waitFor();
      await dialog.getByLabel('자치구 (서울)').selectOption('마포구');
      await expectAllLabelled(page, 'the join dialog');
      await dialog.getByRole('button', { name: '줄 서기', exact: true }).click();
      await dialog.waitFor({ state: 'detached' });

      // Third in line, two ahead, about ten minutes (the opening, then the desk's rate); the card has the focus.
      const ticket = page.locator('article[data-ticket-id]', { hasText: product.name });
      await ticket.waitFor();
      const ticketId = (await ticket.getAttribute('data-ticket-id'))!;
      await expect.poll(() => inPage(page, 'document.activeElement && document.activeElement.dataset.ticketId'), { timeout: UI_TIMEOUT_MS }).toBe(ticketId);
      const shown = (field: string) => ticket.locator(`[data-field="${field}"]`).innerText();
      expect(await shown('position')).toBe('3번째');
      expect(await shown('ahead')).toBe('2명');
      expect(await shown('wait')).toMatch(/^약 1[01]분/);
      expect(await ticket.innerText()).toMatch(/판매 시작[\s\S]*\d+분( \d+초)? 후[\s\S]*선착순/);
      await card.getByRole('button', { name: `${product.name} 내 대기 순번 보기` }).waitFor();
      await expectAllLabelled(page, 'the customer page with a place in line');
      if (SCREENSHOTS) {
        await inPage(page, 'document.activeElement && document.activeElement.blur()');
        writeFileSync(docs('queue'), await page.screenshot());
      }

      // The opening comes, paused by the desk. Someone joins behind, on a phone whose page cannot open
      // the event stream: it keeps its ticket by asking about it, when each answer says to.
      await setSale(product.id, { opensAt: null, paused: true });
      const last = await joinViaApi(product.id, 'c-5');
      expect(last.position).toBe(4);
      await behind.route(`${base}/events`, (route) => route.abort());
      const polls: { asked: number; answered?: number; after?: number | null }[] = [];
      behind.on('request', (req) => void (new URL(req.url()).pathname === `/tickets/${last.id}` && polls.push({ asked: Date.now() })));
      behind.on('response', (res) => {
        if (new URL(res.url()).pathname !== `/tickets/${last.id}`) return;
        const poll = polls.at(-1)!;
        poll.answered = Date.now();
        void res.json().then((t: Ticket) => void (poll.after = t.pollAfterSeconds), () => undefined);
      });
      await behind.goto(`${base}/`);
      await behind.locator('button[data-sub="c-5"]').click();
      await behind.waitForURL(/#\/customer$/);
      const theirs = behind.locator(`article[data-ticket-id="${last.id}"]`);
      await expect.poll(() => theirs.locator('[data-field="ahead"]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('3명');

      // One at a time: the people ahead go, the place stays; on both phones.
      await admitOne(product.id);
      await expect.poll(() => shown('ahead'), { timeout: UI_TIMEOUT_MS }).toBe('1명');
      expect(await shown('position')).toBe('3번째');
      await admitOne(product.id);
      await expect.poll(() => shown('ahead'), { timeout: UI_TIMEOUT_MS }).toBe('0명');
      await expect.poll(() => theirs.locator('[data-field="ahead"]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('1명');

      // Its turn: admitted, then reserved; the reservation appears among the customer's own.
      await setSale(product.id, { paused: false });
      await expect.poll(() => ticket.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('RESERVED');
      // A question answered from this process's copy is as new as its sale board (a second at most): the stream came first.
      await expect.poll(async () => (await ticketOf(ticketId, 'c-2')).reservationId, { timeout: UI_TIMEOUT_MS }).not.toBeNull();
      const { reservationId } = await ticketOf(ticketId, 'c-2');
      const reservation = page.locator(`article[data-reservation-id="${reservationId}"]`);
      await reservation.waitFor({ timeout: LIVE_TIMEOUT_MS });
      expect(await reservation.innerText()).toContain(product.name);
      expect(await ticket.innerText()).toContain('예약되었습니다');
      await ticket.getByRole('button', { name: '예약 보기' }).click();
      await expect.poll(() => inPage(page, 'document.activeElement && document.activeElement.dataset.reservationId'), { timeout: UI_TIMEOUT_MS }).toBe(reservationId);
      expect(asked, 'the page with a stream asked about its ticket').toEqual([]);
      await stillSameDocument(page);

      // The one behind: sold out, and told so on its page, which learnt it by asking.
      await expect.poll(() => theirs.getAttribute('data-status'), { timeout: LIVE_TIMEOUT_MS }).toBe('SOLD_OUT');
      expect(await theirs.innerText()).toContain('차례가 오기 전에 모두 예약되어 품절되었습니다');
      expect((await ticketOf(last.id, 'c-5')).status).toBe('SOLD_OUT');
      expect(polls.length, 'the page without a stream never asked').toBeGreaterThan(0);
      // Never sooner than each answer said (a little slack for the two clocks' view of the same moment).
      for (let i = 1; i < polls.length; i++) {
        const before = polls[i - 1]!;
        if (before.after !== undefined && before.after !== null) expect(polls[i]!.asked - before.answered!).toBeGreaterThanOrEqual(before.after * 1000 - 200);
      }
      // In English too; dismissed, the notice is gone.
      await behind.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => theirs.locator('.status').innerText(), { timeout: UI_TIMEOUT_MS }).toBe('Sold out');
      expect(await theirs.innerText()).toContain('It sold out before your turn. Nothing was reserved and nothing was charged.');
      await theirs.getByRole('button', { name: `Dismiss the ${product.name} notice` }).click();
      await theirs.waitFor({ state: 'detached' });
    } finally {
      await close(page);
      await close(behind);
    }
  }, 150_000);

  it('the launch desk sets a sale (opening, admission rate), opens, pauses and resumes it, charts the launch (reservations per minute, people waiting, units left) and publishes a lottery', async () => {
    const product = await newProduct(stack.db, 20);
    const page = await openPage({ ...DESKTOP, viewport: { width: 1280, height: 1500 } });
    try {
      await page.goto(`${base}/`);
      await page.getByRole('button', { name: '런치 데스크 로그인' }).click();
      await page.waitForURL(/#\/desk$/);
      await page.getByLabel('상품 검색').fill(product.name);
      const card = page.locator(`[data-product-id="${product.id}"]`);
      const field = (name: string) => card.locator(`[data-field="${name}"]`).innerText();
      await expect.poll(() => field('saleState'), { timeout: UI_TIMEOUT_MS }).toBe('판매 중');
      await markDocument(page);

      // An opening tomorrow at 10:00 in Seoul and a fixed admission rate, set in the form.
      const tomorrow = `${toSeoulInput(new Date(Date.now() + 86_400_000).toISOString()).slice(0, 10)}T10:00`;
      await card.getByText(`${product.name} 판매 설정`).click();
      await card.getByLabel('판매 시작 (서울 시각)').fill(tomorrow);
      await card.getByLabel('직접 지정').check();
      await card.getByLabel('초당 입장 인원').fill('2');
      const save = card.getByRole('button', { name: `${product.name} 판매 설정 저장` });
      await save.click();
      await card.getByText(`${product.name} 판매 설정을 저장했습니다.`).waitFor();
      const scheduled = await saleOf(product.id);
      expect(Date.parse(scheduled.opensAt!)).toBe(Date.parse(fromSeoulInput(tomorrow)!));
      expect(scheduled.admissionRate).toBe(2);
      await expect.poll(() => field('saleState'), { timeout: UI_TIMEOUT_MS }).toBe('판매 전');

      // Eight customers line up before the opening.
      for (let i = 0; i < 8; i++) await joinViaApi(product.id, `c-web-${suffix}-desk-${i}`);
      await expect.poll(() => field('waiting'), { timeout: UI_TIMEOUT_MS }).toBe('8');

      // Open now (the opening cleared); pause, which holds through the next refreshes, and resume.
      await card.getByLabel('판매 시작 (서울 시각)').fill('');
      await save.click();
      await expect.poll(async () => (await saleOf(product.id)).opensAt, { timeout: UI_TIMEOUT_MS }).toBeNull();
      await card.getByRole('button', { name: `${product.name} 판매 일시 중지` }).click();
      await expect.poll(() => field('saleState'), { timeout: UI_TIMEOUT_MS }).toBe('일시 중지');
      expect((await saleOf(product.id)).paused).toBe(true);
      await refreshes(page, 2);
      expect(await field('saleState')).toBe('일시 중지');
      await card.getByRole('button', { name: `${product.name} 판매 재개` }).click();
      await expect.poll(() => field('saleState'), { timeout: UI_TIMEOUT_MS }).toBe('판매 중');
      expect((await saleOf(product.id)).paused).toBe(false);
      await expect.poll(() => stockOf(stack.db, product.id), { timeout: LIVE_TIMEOUT_MS }).toBe(12);
      await expect.poll(() => field('waiting'), { timeout: UI_TIMEOUT_MS }).toBe('0');

      // The charts: the product chosen from its card, three charts drawn in the page, each said in words.
      await card.getByRole('button', { name: `${product.name} 차트 보기` }).click();
      await expect.poll(() => page.getByLabel('차트 상품').inputValue(), { timeout: UI_TIMEOUT_MS }).toBe(String(product.id));
      const charts = page.locator(`.chart-grid[data-chart-product="${product.id}"]`);
      await expect.poll(() => charts.locator('figure canvas').count(), { timeout: UI_TIMEOUT_MS }).toBe(3);
      for (const name of ['분당 예약', '대기 인원', '남은 재고']) await charts.getByRole('figure', { name }).waitFor();
      const summary = (kind: string) => charts.locator(`[data-chart="${kind}"] [data-field="summary"]`).innerText();
      await expect.poll(() => summary('stock'), { timeout: UI_TIMEOUT_MS }).toMatch(/^지금 12대 · 최고 20대/);
      await expect.poll(() => summary('waiting'), { timeout: UI_TIMEOUT_MS }).toMatch(/^지금 0명 · 최고 8명/);
      expect(await summary('perMinute')).toMatch(/최고 [1-8]건\/분/);
      expect(await charts.locator('.u-legend').first().innerText()).toContain('분당 예약');
      await page.locator('.chart-table summary').click();
      expect(await page.locator('.chart-table thead').innerText()).toMatch(/분당 예약 \(건\/분\)\s+대기 인원 \(명\)\s+남은 재고 \(대\)/);
      expect(await page.locator('.chart-table tbody tr').count()).toBeGreaterThan(0);
      await expectAllLabelled(page, 'the launch desk with its sale controls and charts');
      if (SCREENSHOTS) {
        await page.locator('.chart-table summary').click();
        await page.mouse.move(0, 0);
        await inPage(page, 'window.scrollTo(0, 0)');
        writeFileSync(docs('desk-launch'), await page.screenshot());
      }

      // A lottery: its seed's digest published at once; the seed and the draw's record once it opens.
      const lottery = await newProduct(stack.db, 1);
      await setSale(lottery.id, { opensAt: new Date(Date.now() + 3_600_000).toISOString(), order: 'LOTTERY' });
      const joined = await joinViaApi(lottery.id, `c-web-${suffix}-lottery`);
      expect(joined.position).toBeNull();
      await page.getByLabel('상품 검색').fill(lottery.name);
      const lotteryCard = page.locator(`[data-product-id="${lottery.id}"]`);
      const digest = (await saleOf(lottery.id)).lottery.seedSha256!;
      await expect.poll(() => lotteryCard.locator('[data-field="seedSha256"]').innerText(), { timeout: UI_TIMEOUT_MS }).toBe(digest);
      expect(await lotteryCard.innerText()).toContain('판매 시작 때 추첨합니다');
      // A lottery's opening is always one still to come when it is set: a few seconds from now.
      await setSale(lottery.id, { opensAt: new Date(Date.now() + 3_000).toISOString() });
      const drawn = await eventually(() => saleOf(lottery.id), (s) => s.lottery.seed !== null, UI_TIMEOUT_MS);
      expect(createHash('sha256').update(drawn.lottery.seed!).digest('hex')).toBe(digest);
      await lotteryCard.getByRole('button', { name: `추첨 기록 보기: ${lottery.name}` }).click();
      await lotteryCard.getByRole('region', { name: `${lottery.name} 추첨 기록` }).getByText(joined.id).waitFor();
      expect(await lotteryCard.innerText()).toContain(drawn.lottery.seed!);
      await stillSameDocument(page);
    } finally {
      await close(page);
    }
  }, 150_000);

  it('without the development sign-in, the page says a token is needed and accepts a pasted one', async () => {
    const noDev = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, { web: { dir: webDir, devLogin: false } });
    const other = await listen(noDev.app.fetch, '127.0.0.1', 0, 'web test, no dev login');
    const page = await browser.newPage(DESKTOP);
    try {
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      await page.goto(`${other.url}/`);
      await page.getByText('로그인하려면 ID 공급자(본인인증)가 발급한 토큰이 필요합니다.').waitFor();
      await expectAllLabelled(page, 'the token sign-in');
      await page.getByLabel('베어러 토큰').fill('not-a-token');
      await page.getByRole('button', { name: '토큰으로 로그인' }).click();
      await page.getByText('읽을 수 있는 토큰이 아닙니다').waitFor();
      await page.getByLabel('베어러 토큰').fill(await tokenFor({ role: 'admin', sub: `admin-web-${suffix}` }));
      await page.getByRole('button', { name: '토큰으로 로그인' }).click();
      await page.waitForURL(/#\/desk$/);
      await page.locator('[data-field="breaker"]').waitFor();
      // Sign out clears the session.
      await page.getByRole('button', { name: '로그아웃' }).click();
      await page.waitForURL(/#\/$/);
      expect(await inPage(page, "sessionStorage.getItem('tshop.session')")).toBeNull();
      await page.goto(`${other.url}/#/desk`);
      await page.getByText('먼저 로그인해 주세요.').waitFor();
    } finally {
      await page.context().close();
      await noDev.app.close();
      await other.close();
    }
  }, 90_000);
});

