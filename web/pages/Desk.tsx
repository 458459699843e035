/**
 * The launch desk (admin): `GET /launch-desk` every 2 s while the page is visible — units left,
 * reservations per minute and the counts per product, each product's sale and line (with its
 * controls), charts of the launch, the assignment service's breaker, every store's load — with
 * restock and opening/closing stores.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { describeError, Feedback, Field, PageHeader } from '../components.js';
import { formatNumber, formatTime, randomUuid } from '../format.js';
import { announce, usePolling } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { STATUS_LABELS } from '../../app/reservation/statuses.js';
import type { DeskCounts, LaunchDesk, Sale, Store } from '../types.js';
import { findDistrict } from '../../shared/districts.js';
import { busiest } from '../samples.js';
import { SalePanel } from './DeskSale.js';
import type { LaunchCharts as LaunchChartsType } from './LaunchCharts.js';

const EVERY_MS = 2_000;
/** The counts shown per product (CANCEL_REQUESTED and PENDING are passing states: in the total only). */
const COUNTS = ['ACCEPTED', 'CONFIRMED', 'REJECTED', 'CANCELLED', 'COMPLETED', 'EXPIRED'] as const;

type DeskProduct = LaunchDesk['products'][number];
type DeskStore = LaunchDesk['stores'][number];
type Sort = 'load' | 'name' | 'district';

type Charts = { LaunchCharts: typeof LaunchChartsType };

/** The charts' module (and uPlot with it), loaded by this page only: customers' pages never need it. */
function useCharts(): { charts?: Charts; error?: unknown } {
  const [loaded, setLoaded] = useState<{ charts?: Charts; error?: unknown }>({});
  useEffect(() => {
    import('./LaunchCharts.js').then(
      (charts) => setLoaded({ charts }),
      (error: unknown) => setLoaded({ error }),
    );
  }, []);
  return loaded;
}

const total = (counts: DeskCounts) => Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
const ratio = (s: DeskStore) => (s.capacity > 0 ? s.active / s.capacity : s.active > 0 ? 1 : 0);

/** The sale's settings that a change from here sets (an answer from the server agrees once they match). */
const settingsOf = (s: Sale) => JSON.stringify([s.opensAt && Date.parse(s.opensAt), s.closesAt && Date.parse(s.closesAt), s.paused, s.unitLimit, s.order, s.admissionRate]);

function ProductCard({
  product: p,
  onRestocked,
  onSaleChanged,
  onChart,
}: {
  product: DeskProduct;
  onRestocked: () => void;
  onSaleChanged: (s: Sale) => void;
  onChart: () => void;
}) {
  const { t, lang } = useI18n();
  const [quantity, setQuantity] = useState('10');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  // One key per restock attempt: a retry of the same quantity after a failure never adds twice.
  const attempt = useRef<{ key: string; quantity: number } | undefined>(undefined);

  const restock = async (e: Event) => {
    e.preventDefault();
    const n = Number(quantity);
    if (!Number.isInteger(n) || n < 1) return;
    const key = attempt.current?.quantity === n ? attempt.current.key : randomUuid();
    attempt.current = { key, quantity: n };
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      await api(`/products/${p.id}/restock`, { method: 'POST', body: { quantity: n }, idempotencyKey: key });
      attempt.current = undefined;
      setDone(t('desk.restocked', { name: p.name, n }));
      onRestocked();
    } catch (err) {
      if (err instanceof ApiError && err.status > 0 && err.status < 500) attempt.current = undefined;
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const counts: DeskCounts = p.counts ?? {};
  const inputId = `restock-${p.id}`;
  return (
    <li class="card desk-product" data-product-id={p.id}>
      <div class="desk-product-head">
        <h3 class="desk-product-name">{p.name}</h3>
        <button type="button" class="button ghost small" aria-label={t('charts.showLabel', { name: p.name })} onClick={onChart}>
          {t('charts.show')}
        </button>
      </div>
      <div class="desk-stock">
        <div class={`big-number ${p.stock <= 0 ? 'out' : ''}`} data-field="stock">
          {formatNumber(p.stock, lang)}
        </div>
        <div class="big-label">{t('desk.unitsLeft')}</div>
      </div>
      <dl class="desk-stats">
        <div>
          <dt>{t('desk.perMinute')}</dt>
          <dd data-field="perMinute">{formatNumber(p.perMinute, lang, 1)}</dd>
        </div>
        <div>
          <dt>{t('desk.total')}</dt>
          <dd data-field="total">{formatNumber(total(counts), lang)}</dd>
        </div>
        <div>
          <dt>{t('desk.claimed')}</dt>
          <dd data-field="claimed">{formatNumber(p.claimed, lang)}</dd>
        </div>
        {COUNTS.map((k) => (
          <div key={k} class={`count-${k.toLowerCase()}`}>
            <dt>{STATUS_LABELS[k][lang]}</dt>
            <dd data-field={k}>{formatNumber(counts[k] ?? 0, lang)}</dd>
          </div>
        ))}
      </dl>
      <SalePanel productId={p.id} name={p.name} sale={p.sale} onChanged={onSaleChanged} />
      <form class="restock" onSubmit={(e) => void restock(e)}>
        <label class="sr-only" for={inputId}>
          {t('desk.restockQty', { name: p.name })}
        </label>
        <input id={inputId} name="quantity" type="number" min={1} max={1000000} step={1} inputMode="numeric" required value={quantity} onInput={(e) => setQuantity(e.currentTarget.value)} />
        <button type="submit" class="button small" disabled={busy} aria-label={t('desk.restockButton', { name: p.name })}>
          {t('desk.restock')}
        </button>
      </form>
      <Feedback error={error} success={done} />
    </li>
  );
}

function StoreRow({ store: s, onChanged }: { store: DeskStore; onChanged: (s: DeskStore) => void }) {
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const pct = Math.round(ratio(s) * 100);
  const district = findDistrict(s.district);
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<Store>(`/stores/${encodeURIComponent(s.id)}`, { method: 'PATCH', body: { open: !s.isOpen } });
      onChanged({ ...s, isOpen: answer.open, active: answer.active ?? s.active, capacity: answer.capacity ?? s.capacity });
      announce(t(answer.open ? 'desk.storeOpened' : 'desk.storeClosed', { name: s.name }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class={`store-row ${s.isOpen ? '' : 'is-closed'}`} data-store-id={s.id}>
      <div class="store-name">
        <strong>{s.name}</strong>
        <span class="muted small">
          {district ? district[lang] : s.district} · {s.id}
        </span>
      </div>
      <div class="store-load">
        <meter min={0} max={1} low={0.7} high={0.9} optimum={0} value={Math.min(1, ratio(s))} aria-label={t('desk.loadLabel', { name: s.name })} />
        <span class="load-text">
          {formatNumber(s.active, lang)}/{formatNumber(s.capacity, lang)} <span class="muted">({pct}%)</span>
        </span>
      </div>
      <span class={`chip ${s.isOpen ? 'chip-open' : 'chip-closed'}`} data-field="isOpen">
        {s.isOpen ? t('desk.open') : t('desk.closed')}
      </span>
      <button
        type="button"
        class={`button small ${s.isOpen ? 'danger-ghost' : 'ghost'}`}
        disabled={busy}
        aria-label={t(s.isOpen ? 'desk.closeLabel' : 'desk.openLabel', { name: s.name })}
        onClick={() => void toggle()}
      >
        {s.isOpen ? t('desk.closeStore') : t('desk.openStore')}
      </button>
      {error !== undefined && (
        <div class="store-error">
          <Feedback error={error} />
        </div>
      )}
    </li>
  );
}

export function DeskPage() {
  const { t, lang } = useI18n();
  const [desk, setDesk] = useState<LaunchDesk>();
  const [error, setError] = useState<unknown>();
  const [productQuery, setProductQuery] = useState('');
  const [storeQuery, setStoreQuery] = useState('');
  const [sort, setSort] = useState<Sort>('load');
  const [closedOnly, setClosedOnly] = useState(false);
  // Store changes made here, shown until an answer from the server agrees (or for 10 s at most).
  const [overrides, setOverrides] = useState<Record<string, { store: DeskStore; at: number }>>({});
  // Sale changes made here, likewise: a refresh that left before the change must not undo it on screen.
  const [saleOverrides, setSaleOverrides] = useState<Record<number, { sale: Sale; at: number }>>({});
  const [chartProduct, setChartProduct] = useState<number>();
  const { charts, error: chartsError } = useCharts();

  const load = async (signal?: AbortSignal) => {
    try {
      const answer = await api<LaunchDesk>('/launch-desk', signal ? { signal } : {});
      setDesk(answer);
      setOverrides((o) => {
        const kept = Object.entries(o).filter(([id, { store, at }]) => Date.now() - at < 10_000 && answer.stores.find((s) => s.id === id)?.isOpen !== store.isOpen);
        return kept.length === Object.keys(o).length ? o : Object.fromEntries(kept);
      });
      setSaleOverrides((o) => {
        const kept = Object.entries(o).filter(([id, { sale, at }]) => {
          const polled = answer.products.find((p) => p.id === Number(id))?.sale;
          return Date.now() - at < 10_000 && polled !== undefined && settingsOf(polled) !== settingsOf(sale);
        });
        return kept.length === Object.keys(o).length ? o : Object.fromEntries(kept);
      });
      setChartProduct((id) => id ?? busiest(answer.products));
      setError(undefined);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
    }
  };
  usePolling(load, EVERY_MS);

  const allProducts = useMemo(() => (desk?.products ?? []).map((p) => (saleOverrides[p.id] ? { ...p, sale: saleOverrides[p.id]!.sale } : p)), [desk, saleOverrides]);
  const products = useMemo(() => {
    const q = productQuery.trim().toLowerCase();
    return allProducts.filter((p) => !q || p.name.toLowerCase().includes(q) || String(p.id) === q);
  }, [allProducts, productQuery]);
  const showChart = (id: number) => {
    setChartProduct(id);
    const heading = document.getElementById('charts-title');
    heading?.focus();
    heading?.scrollIntoView({ block: 'start' });
  };

  const allStores = useMemo(() => (desk?.stores ?? []).map((s) => overrides[s.id]?.store ?? s), [desk, overrides]);
  const stores = useMemo(() => {
    const q = storeQuery.trim().toLowerCase();
    const matches = allStores.filter((s) => {
      if (closedOnly && s.isOpen) return false;
      if (!q) return true;
      const d = findDistrict(s.district);
      return `${s.name} ${s.id} ${s.district} ${d?.en ?? ''}`.toLowerCase().includes(q);
    });
    const byName = (a: DeskStore, b: DeskStore) => a.name.localeCompare(b.name, lang);
    return matches.sort(sort === 'load' ? (a, b) => ratio(b) - ratio(a) || byName(a, b) : sort === 'district' ? (a, b) => a.district.localeCompare(b.district, 'ko') || byName(a, b) : byName);
  }, [allStores, storeQuery, sort, closedOnly, lang]);

  const openCount = allStores.filter((s) => s.isOpen).length;
  const capacity = allStores.reduce((sum, s) => sum + s.capacity, 0);
  const active = allStores.reduce((sum, s) => sum + s.active, 0);
  const breaker = desk?.breaker ?? { state: 'unknown' as const, detail: null };

  // Grouped by district when sorted by it: a heading per district keeps 32 stores scannable.
  const groups = sort === 'district' ? [...new Set(stores.map((s) => s.district))].map((d) => ({ district: d, stores: stores.filter((s) => s.district === d) })) : [{ district: '', stores }];

  return (
    <div class="desk">
      <PageHeader title={t('desk.title')}>
        <p class="lead" aria-live="off">
          {desk ? t('desk.refresh', { time: formatTime(desk.generatedAt, lang) }) : t('loading')}
        </p>
      </PageHeader>
      <div class="feedback" aria-live="polite" aria-atomic="true">
        {error !== undefined && (
          <p class="note error">
            <strong>{t('desk.stale')}</strong>
            <span class="detail">{[describeError(error, t).headline, describeError(error, t).detail].filter(Boolean).join(' — ')}</span>
          </p>
        )}
      </div>

      {desk && (
        <dl class="totals" aria-label={t('desk.totals')}>
          <div>
            <dt>{t('desk.unitsLeft')}</dt>
            <dd>{formatNumber(desk.products.reduce((s, p) => s + p.stock, 0), lang)}</dd>
          </div>
          <div>
            <dt>{t('desk.perMinute')}</dt>
            <dd>{formatNumber(desk.products.reduce((s, p) => s + p.perMinute, 0), lang)}</dd>
          </div>
          {(['ACCEPTED', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const).map((k) => (
            <div key={k} class={`count-${k.toLowerCase()}`}>
              <dt>{STATUS_LABELS[k][lang]}</dt>
              <dd>{formatNumber(desk.products.reduce((s, p) => s + (p.counts?.[k] ?? 0), 0), lang)}</dd>
            </div>
          ))}
        </dl>
      )}

      {desk && charts && <charts.LaunchCharts desk={desk} productId={chartProduct} onSelect={setChartProduct} />}
      {chartsError !== undefined && <Feedback error={chartsError} />}

      <section class={`section breaker breaker-${breaker.state}`} aria-labelledby="breaker-title">
        <h2 id="breaker-title">{t('desk.breaker')}</h2>
        <p class="breaker-state" aria-live="polite" aria-atomic="true">
          <span class="breaker-light" aria-hidden="true" />
          <strong data-field="breaker">{t(`breaker.${breaker.state}`)}</strong>
        </p>
        <p class="muted small">{t(`breakerHelp.${breaker.state}`)}</p>
        {breaker.detail && <p class="muted small breaker-detail">{breaker.detail}</p>}
      </section>

      <section class="section" aria-labelledby="desk-products-title">
        <div class="section-head">
          <h2 id="desk-products-title">{t('desk.products')}</h2>
        </div>
        <Field id="desk-product-search" label={t('desk.productFilter')} className="search">
          <input id="desk-product-search" type="search" name="product-q" autocomplete="off" value={productQuery} onInput={(e) => setProductQuery(e.currentTarget.value)} />
        </Field>
        {desk && products.length === 0 && <p class="muted">{t('desk.noProducts')}</p>}
        <ul class="desk-products">
          {products.map((p) => (
            <ProductCard
              key={p.id}
              product={p}
              onRestocked={() => void load()}
              onSaleChanged={(sale) => setSaleOverrides((o) => ({ ...o, [p.id]: { sale, at: Date.now() } }))}
              onChart={() => showChart(p.id)}
            />
          ))}
        </ul>
      </section>

      <section class="section" aria-labelledby="desk-stores-title">
        <div class="section-head">
          <h2 id="desk-stores-title">{t('desk.stores')}</h2>
          {desk && (
            <span class="muted small">
              {t('desk.storeSummary', { n: allStores.length, open: openCount, pct: capacity > 0 ? Math.round((active / capacity) * 100) : 0 })}
            </span>
          )}
        </div>
        <div class="store-controls">
          <Field id="desk-store-search" label={t('desk.storeFilter')} className="search">
            <input id="desk-store-search" type="search" name="store-q" autocomplete="off" value={storeQuery} onInput={(e) => setStoreQuery(e.currentTarget.value)} />
          </Field>
          <Field id="desk-sort" label={t('desk.sort')}>
            <select id="desk-sort" name="sort" value={sort} onChange={(e) => setSort(e.currentTarget.value as Sort)}>
              <option value="load">{t('sort.load')}</option>
              <option value="name">{t('sort.name')}</option>
              <option value="district">{t('sort.district')}</option>
            </select>
          </Field>
          <label class="check">
            <input type="checkbox" name="closed-only" checked={closedOnly} onChange={(e) => setClosedOnly(e.currentTarget.checked)} />
            <span>{t('desk.closedOnly')}</span>
          </label>
        </div>
        {desk && !desk.storesAvailable && <p class="muted" role="status" data-field="stores-unavailable">{t('desk.storesUnavailable')}</p>}
        {desk?.storesAvailable && stores.length === 0 && <p class="muted">{t('desk.noStores')}</p>}
        {groups.map((g) => (
          <div key={g.district || 'all'} class="store-group">
            {g.district && <h3 class="group-title">{findDistrict(g.district)?.[lang] ?? g.district}</h3>}
            <ul class="store-list">
              {g.stores.map((s) => (
                <StoreRow key={s.id} store={s} onChanged={(next) => setOverrides((o) => ({ ...o, [next.id]: { store: next, at: Date.now() } }))} />
              ))}
            </ul>
          </div>
        ))}
      </section>
    </div>
  );
}
