/**
 * The web app (web/, bundled by web/build/esbuild.ts) in headless Chromium against the real API
 * over HTTP — real PostgreSQL, Temporal, worker, assignment service and Python notifier — as a
 * customer on a phone, store staff and the launch desk use it: every change seen without
 * reloading (the event stream, the desk's polling), Korean first and English on request, the
 * reserve flow by keyboard alone, and no unlabelled control on any page.
 * `UPDATE_WEB_SCREENSHOTS=1 npx vitest run test/integration/web.test.ts` also rewrites docs/web-*.png.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../web/build/esbuild.js';
import { listen, type RunningServer } from '../../shared/http.js';
import { STATUS_LABELS } from '../../shared/contract.js';
import { SseParser, type SseEvent } from '../../web/sse.js';
import { STATUS_LABELS as WEB_STATUS_LABELS } from '../../web/labels.js';
import { eventually, newProduct, newStore, stockOf, testApp, tokenFor, useTestStack } from '../helpers.js';

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
  api = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, { web: { dir: webDir, devLogin: true } });
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

/** Reserves `productId` through the API as an admin for a customer standing at `where`. */
async function reserveViaApi(productId: number, customerId: string, where: { latitude: number; longitude: number }) {
  const res = await api.request('/reservations', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ productId, quantity: 1, fulfilment: 'PICKUP', customer: { id: customerId, name: '테스트', phone: '010-5555-0000', ...where } }),
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

describe('the bundle and what it relies on', () => {
  it('keeps its copy of the status labels equal to the contract', () => {
    expect(WEB_STATUS_LABELS).toEqual(STATUS_LABELS);
  });

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

  it('serves the page and its hashed assets under the Content-Security-Policy, with nothing inline', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    const assets = [...html.matchAll(/(?:src|href)="(\/app\/app-\w+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const asset of assets) expect((await fetch(`${base}${asset}`)).status).toBe(200);
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
        // Filled in from the demo identity; the district is chosen here.
        const identities = (await (await fetch(`${base}/dev/identities`)).json()) as { customers: { sub: string; name: string; phone: string }[] };
        const demo = identities.customers.find((c) => c.sub === 'c-4')!;
        expect(await dialog.getByLabel('이름').inputValue()).toBe(demo.name);
        expect(await dialog.getByLabel('휴대폰 번호').inputValue()).toBe(demo.phone);
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
      if (SCREENSHOTS) writeFileSync(docs('desk'), await page.screenshot());
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
      const isOpen = async () => (await stack.db.selectFrom('stores').select('is_open').where('id', '=', store.id).executeTakeFirstOrThrow()).is_open;
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
      expect(other.status).toBe('ACCEPTED');
      await page.getByRole('dialog').getByRole('button', { name: '예약 신청', exact: true }).click();
      await page.getByText('재고가 없어 예약할 수 없습니다 (예약불가).').waitFor();
      // The problem's own title and detail are shown too.
      await page.getByRole('dialog').getByText(/Out of stock — product \d+ has fewer than 1 unit/).waitFor();
    } finally {
      await close(page);
    }
  }, 90_000);

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

