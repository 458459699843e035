/**
 * The customer's page: the phones with live stock, reserving one (by district or the phone's
 * location, with an Idempotency-Key per attempt), their reservations kept current by the event
 * stream, the messages they were sent, and cancelling.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { Facts, Feedback, Field, LiveIndicator, PageHeader, StatusBadge } from '../components.js';
import { formatDateTime, formatDistance, formatNumber, formatPrice, randomUuid } from '../format.js';
import { announce, useCountdown, usePolling, useReservationStream } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { isCancellable, TERMINAL_STATUSES } from '../labels.js';
import { mergeNewer } from '../reservations.js';
import { useSession } from '../session.js';
import type { Fulfilment, Notification, Page, Product, Reservation } from '../types.js';
import { findDistrict, SEOUL_DISTRICTS } from '../../db/data/seoul.js';

// On launch day tens of thousands of customers have this page open: every one reading the catalogue
// every few seconds would be thousands of requests a second. The stock shown is a guide; the
// reserve request decides.
const PRODUCTS_EVERY_MS = 15_000;
const MESSAGES_EVERY_MS = 3_000;

/** Newest reservation first. */
function merge(list: Reservation[], incoming: Reservation[]): Reservation[] {
  return mergeNewer(list, incoming).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** Problems after which repeating the same request (same key) can still succeed. */
function retryable(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true;
  if (err.code === 'STOCK_UNAVAILABLE') return false; // recorded as refused: the same key would replay it
  return err.status === 0 || err.status >= 500;
}

function Catalogue({ products, error, onReserve }: { products: Product[] | undefined; error: unknown; onReserve: (p: Product, trigger: HTMLElement) => void }) {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (products ?? []).filter((p) => !q || `${p.name} ${p.brand} ${p.sku}`.toLowerCase().includes(q));
  }, [products, query]);
  return (
    <section class="section" aria-labelledby="catalogue-title">
      <div class="section-head">
        <h2 id="catalogue-title">{t('catalogue.title')}</h2>
        {products && <span class="muted small">{t('catalogue.count', { n: products.length })}</span>}
      </div>
      <Field id="catalogue-search" label={t('catalogue.search')} className="search">
        <input id="catalogue-search" type="search" name="q" value={query} autocomplete="off" onInput={(e) => setQuery(e.currentTarget.value)} />
      </Field>
      <Feedback error={error} />
      {!products && !error && <p class="muted">{t('loading')}</p>}
      {products && shown.length === 0 && <p class="muted">{t('catalogue.empty')}</p>}
      <ul class="product-grid">
        {shown.map((p) => {
          const soldOut = p.availableStock <= 0;
          return (
            <li key={p.id} class="card product" data-product-id={p.id}>
              <div class="product-info">
                <div class="product-brand">{p.brand}</div>
                <h3 class="product-name">{p.name}</h3>
                <div class="product-meta">
                  <span class="product-price">{formatPrice(p.priceKrw, lang)}</span>
                  <span class={`stock ${soldOut ? 'out' : p.availableStock <= 5 ? 'low' : ''}`} data-field="stock">
                    {soldOut ? t('catalogue.soldOut') : t('catalogue.stock', { n: formatNumber(p.availableStock, lang) })}
                  </span>
                </div>
              </div>
              <button
                type="button"
                class="button"
                disabled={soldOut}
                aria-label={t('catalogue.reserveLabel', { name: p.name })}
                onClick={(e) => onReserve(p, e.currentTarget)}
              >
                {soldOut ? t('catalogue.soldOut') : t('catalogue.reserve')}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

type Geo = { state: 'off' } | { state: 'locating' } | { state: 'on'; latitude: number; longitude: number } | { state: 'failed'; reason: 'geoDenied' | 'geoUnavailable' | 'geoUnsupported' };

function ReserveDialog({ product, onClose, onReserved }: { product: Product; onClose: () => void; onReserved: (r: Reservation) => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const profile = session?.profile ?? {};
  const [fulfilment, setFulfilment] = useState<Fulfilment>('PICKUP');
  const [name, setName] = useState(profile.name ?? '');
  const [phone, setPhone] = useState(profile.phone ?? '');
  const [district, setDistrict] = useState(() => (profile.district ? (findDistrict(profile.district)?.ko ?? '') : ''));
  const [geo, setGeo] = useState<Geo>({ state: 'off' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [wait, startWait] = useCountdown();
  // The attempt: its Idempotency-Key and the body it was sent with. A retry of the same body reuses the key.
  const attempt = useRef<{ key: string; body: string } | undefined>(undefined);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (!d.open) d.showModal();
    heading.current?.focus();
    const closed = () => onClose();
    d.addEventListener('close', closed);
    return () => d.removeEventListener('close', closed);
  }, []);

  const locate = () => {
    if (!('geolocation' in navigator) || !window.isSecureContext) {
      setGeo({ state: 'failed', reason: 'geoUnsupported' });
      return;
    }
    setGeo({ state: 'locating' });
    navigator.geolocation.getCurrentPosition(
      (pos) => setGeo({ state: 'on', latitude: pos.coords.latitude, longitude: pos.coords.longitude }),
      (err) => setGeo({ state: 'failed', reason: err.code === err.PERMISSION_DENIED ? 'geoDenied' : 'geoUnavailable' }),
      { enableHighAccuracy: false, timeout: 15_000, maximumAge: 60_000 },
    );
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    const where =
      geo.state === 'on'
        ? { latitude: Math.round(geo.latitude * 1e6) / 1e6, longitude: Math.round(geo.longitude * 1e6) / 1e6 }
        : district
          ? { district }
          : {};
    const body = { productId: product.id, quantity: 1, fulfilment, customer: { name: name.trim(), phone: phone.trim(), ...where } };
    const json = JSON.stringify(body);
    const key = attempt.current?.body === json ? attempt.current.key : randomUuid();
    attempt.current = { key, body: json };
    setBusy(true);
    setError(undefined);
    try {
      const reservation = await api<Reservation>('/reservations', { method: 'POST', body, idempotencyKey: key });
      attempt.current = undefined;
      onReserved(reservation);
      dialog.current?.close();
    } catch (err) {
      if (!retryable(err)) attempt.current = undefined;
      if (err instanceof ApiError && err.code === 'STOCK_HELD') startWait(err.retryAfter ?? 1);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const geoText =
    geo.state === 'locating'
      ? t('form.locating')
      : geo.state === 'on'
        ? t('form.locationSet', { lat: geo.latitude.toFixed(4), lng: geo.longitude.toFixed(4) })
        : geo.state === 'failed'
          ? t(`form.${geo.reason}`)
          : '';

  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="reserve-title">
      <form class="stack" onSubmit={(e) => void submit(e)}>
        <div class="dialog-head">
          <h2 id="reserve-title" ref={heading} tabIndex={-1}>
            {t('form.title', { name: product.name })}
          </h2>
          <p class="muted">
            {t('form.price')}: {formatPrice(product.priceKrw, lang)} · {t('catalogue.stock', { n: formatNumber(product.availableStock, lang) })}
          </p>
        </div>
        <fieldset class="choices">
          <legend>{t('form.fulfilment')}</legend>
          {(['PICKUP', 'DELIVERY'] as const).map((f) => (
            <label class="choice" key={f}>
              <input type="radio" name="fulfilment" value={f} checked={fulfilment === f} onChange={() => setFulfilment(f)} />
              <span>{f === 'PICKUP' ? t('form.pickup') : t('form.delivery')}</span>
            </label>
          ))}
        </fieldset>
        <div class="two">
          <Field id="reserve-name" label={t('form.name')}>
            <input id="reserve-name" name="name" required maxLength={100} autocomplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field id="reserve-phone" label={t('form.phone')}>
            <input
              id="reserve-phone"
              name="phone"
              type="tel"
              required
              inputMode="tel"
              pattern="\+?[0-9 \-]{7,20}"
              autocomplete="tel"
              placeholder="010-1234-5678"
              value={phone}
              onInput={(e) => setPhone(e.currentTarget.value)}
            />
          </Field>
        </div>
        <fieldset class="location">
          <legend>{t('form.location')}</legend>
          <p class="hint" id="location-hint">
            {t('form.locationHint')}
          </p>
          <Field id="reserve-district" label={t('form.district')}>
            <select id="reserve-district" name="district" value={district} disabled={geo.state === 'on'} aria-describedby="location-hint" onChange={(e) => setDistrict(e.currentTarget.value)}>
              <option value="">{t('form.districtNone')}</option>
              {SEOUL_DISTRICTS.map((d) => (
                <option key={d.ko} value={d.ko}>
                  {lang === 'ko' ? d.ko : `${d.en} (${d.ko})`}
                </option>
              ))}
            </select>
          </Field>
          <div class="row">
            {geo.state === 'on' ? (
              <button type="button" class="button ghost small" onClick={() => setGeo({ state: 'off' })}>
                {t('form.clearLocation')}
              </button>
            ) : (
              <button type="button" class="button ghost small" disabled={geo.state === 'locating'} onClick={locate}>
                <span aria-hidden="true">◎ </span>
                {t('form.useLocation')}
              </button>
            )}
          </div>
          <p class={`geo-status ${geo.state === 'failed' ? 'error-text' : ''}`} aria-live="polite">
            {geoText}
          </p>
        </fieldset>
        <Feedback error={error} retrySeconds={wait > 0 ? wait : undefined} success={busy ? t('form.submitting') : undefined} />
        <div class="dialog-actions">
          <button type="button" class="button ghost" onClick={() => dialog.current?.close()}>
            {t('close')}
          </button>
          <button type="submit" class="button primary" disabled={busy || wait > 0}>
            {wait > 0 ? t('retryIn', { s: wait }) : error && attempt.current ? t('retry') : t('form.submit')}
          </button>
        </div>
      </form>
    </dialog>
  );
}

function Messages({ reservation }: { reservation: Reservation }) {
  const { t, lang } = useI18n();
  const [items, setItems] = useState<Notification[]>();
  const [error, setError] = useState<unknown>();
  const load = async (signal?: AbortSignal) => {
    try {
      const answer = await api<{ items: Notification[] }>(`/reservations/${reservation.id}/notifications`, signal ? { signal } : {});
      setItems(answer.items);
      setError(undefined);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
    }
  };
  // A finished reservation whose messages are all sent or failed has nothing more coming.
  const settled = TERMINAL_STATUSES.has(reservation.status) && items !== undefined && items.every((m) => m.status !== 'QUEUED');
  usePolling(load, MESSAGES_EVERY_MS, !settled);
  // A change of the reservation usually means a new message: fetch at once.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else void load();
  }, [reservation.updatedAt, reservation.status]);

  return (
    <section class="messages" id={`messages-${reservation.id}`} aria-label={t('r.messagesLabel', { product: reservation.product.name })}>
      <Feedback error={error} />
      {!items && !error && <p class="muted">{t('loading')}</p>}
      {items && items.length === 0 && <p class="muted">{t('r.messagesEmpty')}</p>}
      {items && items.length > 0 && (
        <ol class="message-list" aria-live="polite">
          {items.map((m) => (
            <li key={m.id} class={`message message-${m.status.toLowerCase()}`} data-kind={m.kind}>
              <div class="message-head">
                <strong>{t(`kind.${m.kind}`)}</strong>
                <span class={`chip chip-${m.status.toLowerCase()}`}>{t(`msg.${m.status}`)}</span>
                {m.sentAt && <span class="muted small">{t('msg.sentAt', { time: formatDateTime(m.sentAt, lang) })}</span>}
              </div>
              {m.message ? <p class="message-text" lang={lang}>{m.message[lang]}</p> : <p class="muted small">{t('msg.preparing')}</p>}
              {m.status === 'FAILED' && m.error && <p class="error-text small">{m.error}</p>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function ReservationCard({ reservation: r, onUpdate }: { reservation: Reservation; onUpdate: (r: Reservation) => void }) {
  const { t, lang } = useI18n();
  const [showMessages, setShowMessages] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [sent, setSent] = useState(false);
  const cancelKey = useRef<string | undefined>(undefined);
  const card = useRef<HTMLElement>(null);
  const reasonInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (confirming) reasonInput.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (!isCancellable(r.status)) setConfirming(false);
  }, [r.status]);

  const cancel = async (e: Event) => {
    e.preventDefault();
    cancelKey.current ??= randomUuid();
    setBusy(true);
    setError(undefined);
    try {
      const body = reason.trim() ? { reason: reason.trim() } : {};
      const answer = await api<Reservation>(`/reservations/${r.id}/cancel`, { method: 'POST', body, idempotencyKey: cancelKey.current });
      onUpdate(answer);
      setSent(true);
      setConfirming(false);
      card.current?.focus();
    } catch (err) {
      if (!retryable(err)) cancelKey.current = undefined;
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const store = r.store;
  const titleId = `reservation-title-${r.id}`;
  return (
    <li>
      <article class={`card reservation status-line-${r.status.toLowerCase()}`} id={`reservation-${r.id}`} ref={card} tabIndex={-1} aria-labelledby={titleId} data-reservation-id={r.id} data-status={r.status}>
        <div class="card-head">
          <h3 id={titleId}>{r.product.name}</h3>
          <p class="status" aria-live="polite" aria-atomic="true">
            <StatusBadge status={r.status} label={r.statusLabel} />
          </p>
        </div>
        {r.status === 'ACCEPTED' && !store && <p class="muted small pulse">{t('r.assigning')}</p>}
        <Facts
          rows={[
            [t('r.id'), <code>{r.id}</code>],
            [t('r.fulfilment'), `${t(`r.${r.fulfilment}`)} · ${t('r.units', { n: r.quantity })}`],
            [t('r.store'), store?.name],
            [t('r.distance'), store && store.distanceKm !== null ? formatDistance(store.distanceKm, lang) : null],
            [t('r.address'), store?.address],
            [t('r.holdUntil'), r.holdUntil && !TERMINAL_STATUSES.has(r.status) ? formatDateTime(r.holdUntil, lang) : null],
            [t('r.createdAt'), formatDateTime(r.createdAt, lang)],
            [t('r.rejectReason'), r.rejectReason ?? r.cancelReason],
          ]}
        />
        <div class="card-actions">
          <button
            type="button"
            class="button ghost small"
            aria-expanded={showMessages}
            aria-controls={`messages-${r.id}`}
            onClick={() => setShowMessages((v) => !v)}
          >
            {showMessages ? t('r.messagesHide') : t('r.messagesShow')}
          </button>
          {isCancellable(r.status) && !confirming && (
            <button type="button" class="button danger-ghost small" aria-label={t('r.cancelLabel', { product: r.product.name })} onClick={() => setConfirming(true)}>
              {t('r.cancel')}
            </button>
          )}
        </div>
        {confirming && (
          <form class="confirm" onSubmit={(e) => void cancel(e)}>
            <p id={`cancel-q-${r.id}`}>
              <strong>{t('r.cancelConfirm')}</strong>
            </p>
            <Field id={`cancel-reason-${r.id}`} label={t('r.cancelReason')}>
              <input id={`cancel-reason-${r.id}`} ref={reasonInput} name="reason" maxLength={200} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            </Field>
            <div class="row">
              <button type="submit" class="button danger" disabled={busy} aria-describedby={`cancel-q-${r.id}`}>
                {t('r.cancelYes')}
              </button>
              <button type="button" class="button ghost" disabled={busy} onClick={() => setConfirming(false)}>
                {t('r.cancelNo')}
              </button>
            </div>
          </form>
        )}
        <Feedback error={error} success={sent && r.status !== 'CANCELLED' ? t('r.cancelSent') : undefined} />
        {showMessages && <Messages reservation={r} />}
      </article>
    </li>
  );
}

export function CustomerPage() {
  const { t } = useI18n();
  const session = useSession();
  const [products, setProducts] = useState<Product[]>();
  const [productsError, setProductsError] = useState<unknown>();
  const [reservations, setReservations] = useState<Reservation[]>();
  const [listError, setListError] = useState<unknown>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [reserving, setReserving] = useState<Product>();
  const [notice, setNotice] = useState<{ id: string; text: string }>();
  const trigger = useRef<HTMLElement | null>(null);
  const focusAfter = useRef<string | undefined>(undefined);

  const loadProducts = async (signal?: AbortSignal) => {
    try {
      const answer = await api<{ items: Product[] }>('/products', signal ? { signal } : {});
      setProducts(answer.items);
      setProductsError(undefined);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setProductsError(err);
    }
  };
  usePolling(loadProducts, PRODUCTS_EVERY_MS);

  const loadReservations = async () => {
    try {
      const page = await api<Page<Reservation>>('/reservations?limit=20');
      setReservations((list) => merge(list ?? [], page.items));
      setCursor((c) => c ?? page.nextCursor);
      setListError(undefined);
    } catch (err) {
      setListError(err);
    }
  };
  useEffect(() => void loadReservations(), []);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api<Page<Reservation>>(`/reservations?limit=20&cursor=${encodeURIComponent(cursor)}`);
      setReservations((list) => merge(list ?? [], page.items));
      setCursor(page.nextCursor);
    } catch (err) {
      setListError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const upsert = (r: Reservation) => {
    setReservations((list) => merge(list ?? [], [r]));
    // "Reserved, a store is being assigned" holds only until the reservation moves on.
    if (r.status !== 'ACCEPTED') setNotice((n) => (n?.id === r.id ? undefined : n));
  };
  const stream = useReservationStream(upsert, () => void loadReservations());

  // After reserving, the new reservation's card takes the focus.
  useEffect(() => {
    const id = focusAfter.current;
    if (!id) return;
    const el = document.getElementById(`reservation-${id}`);
    if (el) {
      focusAfter.current = undefined;
      el.focus();
      el.scrollIntoView({ block: 'nearest' });
    }
  }, [reservations]);

  const reserved = (r: Reservation) => {
    focusAfter.current = r.id;
    trigger.current = null;
    upsert(r);
    const text = t('form.reserved', { name: r.product.name });
    setNotice({ id: r.id, text });
    announce(text);
    void loadProducts();
  };

  const name = session?.profile?.name ?? session?.sub ?? '';
  return (
    <div class="customer">
      <PageHeader title={t('customer.title')}>
        <p class="lead">
          {t('customer.hello', { name })} <LiveIndicator state={stream} />
        </p>
      </PageHeader>
      <div class="customer-layout">
        <Catalogue
          products={products}
          error={productsError}
          onReserve={(p, el) => {
            trigger.current = el;
            setNotice(undefined);
            setReserving(p);
          }}
        />
        <section class="section" aria-labelledby="reservations-title">
          <div class="section-head">
            <h2 id="reservations-title">{t('reservations.title')}</h2>
          </div>
          <Feedback error={listError} success={notice?.text} />
          {!reservations && !listError && <p class="muted">{t('loading')}</p>}
          {reservations && reservations.length === 0 && <p class="muted">{t('reservations.empty')}</p>}
          <ul class="reservation-list">
            {(reservations ?? []).map((r) => (
              <ReservationCard key={r.id} reservation={r} onUpdate={upsert} />
            ))}
          </ul>
          {cursor && (
            <button type="button" class="button ghost" disabled={loadingMore} onClick={() => void loadMore()}>
              {t('reservations.more')}
            </button>
          )}
        </section>
      </div>
      {reserving && (
        <ReserveDialog
          product={reserving}
          onReserved={reserved}
          onClose={() => {
            setReserving(undefined);
            // Closed without reserving: back to the button that opened it.
            if (trigger.current?.isConnected) trigger.current.focus();
          }}
        />
      )}
    </div>
  );
}
