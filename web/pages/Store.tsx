/**
 * Store staff: their store's confirmed reservations (the API keeps a store token to its own
 * store), kept current by the event stream, and the hand-over (`POST /reservations/{id}/complete`)
 * after which a reservation leaves the list.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Facts, Feedback, Field, LiveIndicator, PageHeader, StatusBadge } from '../components.js';
import { formatDateTime, formatDistance } from '../format.js';
import { announce, useEventStream } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { mergeNewer } from '../reservations.js';
import { useSession } from '../session.js';
import type { Reservation, ReservationPage } from '../types.js';

const STAFF_KEY = 'tshop.staffName';

function storedStaffName(fallback: string): string {
  try {
    return localStorage.getItem(STAFF_KEY) ?? fallback;
  } catch {
    return fallback;
  }
}

function HandOverCard({ reservation: r, onDone }: { reservation: Reservation; onDone: (r: Reservation) => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  const [by, setBy] = useState(() => storedStaffName(session?.sub ?? ''));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const byInput = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) byInput.current?.focus();
  }, [confirming]);

  const complete = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const staff = by.trim();
      try {
        localStorage.setItem(STAFF_KEY, staff);
      } catch {
        // Not remembered.
      }
      const answer = await api<Reservation>(`/reservations/${r.id}/complete`, { method: 'POST', body: staff ? { by: staff } : {} });
      onDone(answer);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const titleId = `handover-title-${r.id}`;
  return (
    <li>
      <article class="card handover" id={`handover-${r.id}`} aria-labelledby={titleId} data-reservation-id={r.id}>
        <div class="card-head">
          <h3 id={titleId}>
            <code class="reservation-code">{r.id}</code>
          </h3>
          <p class="status">
            <StatusBadge status={r.status} label={r.statusLabel} />
          </p>
        </div>
        <p class="product-line">
          <strong>{r.product.name}</strong> · {t(`r.${r.fulfilment}`)} · {t('r.units', { n: r.quantity })}
        </p>
        <Facts
          rows={[
            [t('store.customer'), r.customerId],
            [t('r.distance'), r.store?.distanceKm !== null && r.store?.distanceKm !== undefined ? formatDistance(r.store.distanceKm, lang) : null],
            [t('store.confirmedAt'), formatDateTime(r.updatedAt, lang)],
            [t('r.holdUntil'), r.holdUntil ? formatDateTime(r.holdUntil, lang) : null],
          ]}
        />
        {!confirming ? (
          <div class="card-actions">
            <button ref={opener} type="button" class="button primary" aria-label={t('store.handOverLabel', { id: r.id })} onClick={() => setConfirming(true)}>
              {t('store.handOver')}
            </button>
          </div>
        ) : (
          <form class="confirm" onSubmit={(e) => void complete(e)}>
            <p id={`handover-q-${r.id}`}>
              <strong>{t('store.handOverConfirm')}</strong>
            </p>
            <Field id={`handover-by-${r.id}`} label={t('store.by')}>
              <input id={`handover-by-${r.id}`} ref={byInput} name="by" maxLength={64} autocomplete="off" value={by} onInput={(e) => setBy(e.currentTarget.value)} />
            </Field>
            <div class="row">
              <button type="submit" class="button primary" disabled={busy} aria-describedby={`handover-q-${r.id}`}>
                {t('store.handOverYes')}
              </button>
              <button
                type="button"
                class="button ghost"
                disabled={busy}
                onClick={() => {
                  setConfirming(false);
                  setTimeout(() => opener.current?.focus(), 0);
                }}
              >
                {t('store.handOverNo')}
              </button>
            </div>
          </form>
        )}
        <Feedback error={error} />
      </article>
    </li>
  );
}

export function StorePage() {
  const { t, lang } = useI18n();
  const session = useSession();
  const storeId = session?.store;
  const [items, setItems] = useState<Reservation[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [query, setQuery] = useState('');
  const [storeName, setStoreName] = useState(session?.storeName);
  const heading = useRef<HTMLHeadingElement>(null);
  // Reservations handed over from this page: a late event must not bring them back.
  const done = useRef(new Set<string>());

  const belongs = (r: Reservation) => r.status === 'CONFIRMED' && (!storeId || r.store?.id === storeId) && !done.current.has(r.id);
  const sorted = (list: Reservation[]) => [...list].sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : 1));

  const load = async (after?: string) => {
    try {
      const page = await api<ReservationPage>(`/reservations?status=CONFIRMED&limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);
      const mine = page.items.filter(belongs);
      setItems((list) => {
        // A first page keeps only what the stream brought in while it loaded (when still confirmed).
        const kept = after ? (list ?? []) : (list ?? []).filter(belongs);
        return sorted(mergeNewer(kept, mine));
      });
      setCursor(page.nextCursor);
      const named = page.items.find((r) => r.store?.id === storeId)?.store?.name;
      if (named) setStoreName((n) => n ?? named);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const onEvent = (r: Reservation) => {
    if (storeId && r.store?.id === storeId && r.store.name) setStoreName((n) => n ?? r.store?.name);
    setItems((list) => {
      const current = list ?? [];
      const known = current.find((x) => x.id === r.id);
      if (known && known.updatedAt > r.updatedAt) return current;
      if (belongs(r)) {
        if (!known) announce(t('store.arrived', { id: r.id, product: r.product.name }));
        return sorted([...current.filter((x) => x.id !== r.id), r]);
      }
      if (known) announce(t('store.left', { id: r.id, status: r.statusLabel[lang] }));
      return known ? current.filter((x) => x.id !== r.id) : current;
    });
  };
  const stream = useEventStream({ reservation: onEvent, ready: () => void load() });

  const handedOver = (r: Reservation) => {
    done.current.add(r.id);
    setItems((list) => (list ?? []).filter((x) => x.id !== r.id));
    const text = t('store.handedOver', { id: r.id });
    setNotice(text);
    heading.current?.focus();
  };

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (items ?? []).filter((r) => !q || `${r.id} ${r.product.name} ${r.customerId}`.toLowerCase().includes(q));
  }, [items, query]);

  return (
    <div class="store">
      <PageHeader title={t('store.title')}>
        <p class="lead">
          {t('store.subtitle', { store: storeName ?? storeId ?? '' })} <LiveIndicator state={stream} />
        </p>
      </PageHeader>
      <section class="section" aria-labelledby="handover-list-title">
        <div class="section-head">
          <h2 id="handover-list-title" tabIndex={-1} ref={heading}>
            {storeName ?? storeId}
          </h2>
          {items && <span class="count-pill">{t('store.count', { n: items.length })}</span>}
        </div>
        <Field id="store-search" label={t('store.filter')} className="search">
          <input id="store-search" type="search" name="q" autocomplete="off" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </Field>
        <Feedback error={error} success={notice} />
        {!items && !error && <p class="muted">{t('loading')}</p>}
        {items && shown.length === 0 && <p class="empty">{t('store.empty')}</p>}
        <ul class="handover-list">
          {shown.map((r) => (
            <HandOverCard key={r.id} reservation={r} onDone={handedOver} />
          ))}
        </ul>
        {cursor && (
          <button type="button" class="button ghost" onClick={() => void load(cursor)}>
            {t('reservations.more')}
          </button>
        )}
      </section>
    </div>
  );
}
