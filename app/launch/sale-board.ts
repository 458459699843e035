/**
 * What every API process knows of the catalogue and the lines, read in one query twice a second
 * (`SALE_BOARD_EVERY`) while anything needs it: the catalogue a million open pages poll is
 * answered from here, never by a database read per request; a waiting ticket's place, wait and
 * sold-out answer come from the line's counters here; and the admission rate is measured here, from
 * how fast each line's watermark moves.
 */
import type { Kysely } from 'kysely';
import { readSales, type SaleRow } from './sales.js';
import type { Database } from '../../db/schema.js';
import type { Logger } from '../../platform/log.js';

export type SaleState = 'SCHEDULED' | 'OPEN' | 'PAUSED' | 'SOLD_OUT' | 'CLOSED';

/** Tickets passed per second, measured; `low`/`high`: the slowest and fastest 5-second spells of the window. */
export interface MeasuredRate {
  perSecond: number;
  low: number;
  high: number;
  /** Seconds the measurement covers. */
  window: number;
}

export interface SaleView extends SaleRow {
  state: SaleState;
  /** Places issued and not yet passed (lapsed ones included until their turn). */
  waiting: number;
  /** When this process read it. */
  readAt: number;
}

const WINDOW_MS = 30_000;
const SPELL_MS = 5_000;

export interface SaleBoard {
  /** Every product with its sale, as last read (reading now if the last read is older than `maxAgeMs`). */
  all(maxAgeMs?: number): Promise<SaleView[]>;
  /** One product's sale, as last read (read again once if unknown, or older than `maxAgeMs`). */
  get(productId: number, maxAgeMs?: number): Promise<SaleView | undefined>;
  /** The last read, without waiting (undefined before the first). */
  peek(productId: number): SaleView | undefined;
  /** Every product as last read, without waiting. */
  last(): SaleView[];
  rate(productId: number): MeasuredRate | undefined;
  /** Reads now (after a change this process made); resolves with the new rows. */
  refresh(): Promise<SaleView[]>;
  /** Called with the products whose line or stock changed at each read; returns the unsubscribe. */
  onChange(listener: (changed: SaleView[]) => void): () => void;
  /** Keeps reading every interval while `keep` holds (the admitter, open streams). */
  keepReading(): () => void;
  stop(): void;
}

export function saleStateOf(row: SaleRow): SaleState {
  if (row.opens_at && row.opens_at > row.now) return 'SCHEDULED';
  if (row.closes_at && row.closes_at <= row.now) return 'CLOSED';
  if (row.stock <= 0) return 'SOLD_OUT';
  return row.paused ? 'PAUSED' : 'OPEN';
}

/** What a line's watchers see change: its counters, its state, its stock. */
const fingerprint = (v: SaleView) => `${v.state}|${v.issued}|${v.admitted}|${v.sold_out_upto}|${v.stock}|${v.drawn_at?.getTime() ?? ''}|${v.paused}`;

export function createSaleBoard(db: Kysely<Database>, log: Logger, everyMs = 500, readRows: (db: Kysely<Database>) => Promise<SaleRow[]> = readSales): SaleBoard {
  let views = new Map<number, SaleView>();
  let readAt = 0;
  let reading: Promise<SaleView[]> | undefined;
  const history = new Map<number, { at: number; admitted: number }[]>();
  const listeners = new Set<(changed: SaleView[]) => void>();
  let keepers = 0;
  let timer: NodeJS.Timeout | undefined;

  const record = (v: SaleView) => {
    const samples = history.get(v.id) ?? [];
    samples.push({ at: v.readAt, admitted: v.admitted });
    while (samples.length > 2 && samples[0]!.at < v.readAt - WINDOW_MS) samples.shift();
    history.set(v.id, samples);
  };

  const read = async () => {
    const rows = await readRows(db);
    const at = Date.now();
    const next = new Map<number, SaleView>();
    const changed: SaleView[] = [];
    for (const row of rows) {
      const view: SaleView = { ...row, state: saleStateOf(row), waiting: Math.max(0, row.issued - row.admitted), readAt: at };
      const before = views.get(row.id);
      if (!before || fingerprint(before) !== fingerprint(view)) changed.push(view);
      record(view);
      next.set(row.id, view);
    }
    views = next;
    readAt = at;
    if (changed.length > 0) for (const listener of listeners) listener(changed);
    return [...next.values()];
  };

  /** The read under way, or a new one: for the board's own cadence, any read will do. */
  const readNow = () => {
    reading ??= read().finally(() => (reading = undefined));
    return reading;
  };
  /** A read begun after this call: one under way may have started before the change just made. */
  const refresh = async () => {
    await reading?.catch(() => undefined);
    return readNow();
  };

  const tick = () => void readNow().catch((err: unknown) => log.warn('sale board: read failed; trying again', { error: err }));

  return {
    async all(maxAgeMs = everyMs) {
      return Date.now() - readAt <= maxAgeMs ? [...views.values()] : readNow();
    },
    async get(productId, maxAgeMs = everyMs) {
      const known = views.get(productId);
      if (known && Date.now() - known.readAt <= maxAgeMs) return known;
      await readNow();
      return views.get(productId);
    },
    peek: (productId) => views.get(productId),
    last: () => [...views.values()],
    rate(productId) {
      const kept = history.get(productId);
      if (!kept || kept.length < 2) return undefined;
      // From the last look before the line began to move within the window: a line that just
      // opened is measured over its seconds of moving, not diluted by the quiet before.
      const moving = kept.findIndex((s, i) => i + 1 < kept.length && kept[i + 1]!.admitted > s.admitted);
      if (moving < 0) return undefined;
      const samples = kept.slice(moving);
      const first = samples[0]!;
      const last = samples.at(-1)!;
      const seconds = (last.at - first.at) / 1000;
      if (seconds < 1) return undefined;
      const spells: number[] = [];
      for (let start = first.at; start + SPELL_MS <= last.at; start += SPELL_MS) {
        const a = samples.find((s) => s.at >= start)!;
        const b = [...samples].reverse().find((s) => s.at <= start + SPELL_MS)!;
        if (b.at > a.at) spells.push(((b.admitted - a.admitted) * 1000) / (b.at - a.at));
      }
      const perSecond = (last.admitted - first.admitted) / seconds;
      return { perSecond, low: spells.length ? Math.min(...spells) : perSecond, high: spells.length ? Math.max(...spells) : perSecond, window: Math.round(seconds) };
    },
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    keepReading() {
      if (keepers++ === 0) {
        timer = setInterval(tick, everyMs);
        timer.unref();
      }
      let kept = true;
      return () => {
        if (!kept) return;
        kept = false;
        if (--keepers === 0) clearInterval(timer);
      };
    },
    stop() {
      clearInterval(timer);
      keepers = 0;
      listeners.clear();
    },
  };
}
