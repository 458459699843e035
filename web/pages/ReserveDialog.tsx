/**
 * Reserving a phone, or joining its line before the opening: how it is received and where the
 * customer is (a Seoul district or the phone's location). The name and number the messages go to
 * come from the customer's verified identity and are only shown here. Each attempt carries an
 * Idempotency-Key, reused when the same request is repeated.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call } from '../api.js';
import { Feedback, Field } from '../components.js';
import { formatDateTime, formatNumber, formatPhone, formatPrice, randomUuid } from '../format.js';
import { useCountdown } from '../hooks.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { FULFILMENTS } from '../../app/reservation/statuses.js';
import { useSession } from '../session.js';
import type { Fulfilment, Product, Reservation, Ticket } from '../types.js';
import { findDistrict, SEOUL_DISTRICTS } from '../../shared/districts.js';

/** Reserve now, or take a place in line (before the opening, or while the sale is paused). */
export type DialogMode = 'reserve' | 'join';

/** How each way of receiving the phone is offered. */
const FULFILMENT_CHOICES: Record<Fulfilment, MessageKey> = { PICKUP: 'form.pickup', DELIVERY: 'form.delivery' };

export const modeOf = (p: Product): DialogMode => (p.sale.state === 'SCHEDULED' || p.sale.state === 'PAUSED' ? 'join' : 'reserve');

type Geo = { state: 'off' } | { state: 'locating' } | { state: 'on'; latitude: number; longitude: number } | { state: 'failed'; reason: 'geoDenied' | 'geoUnavailable' | 'geoUnsupported' };

/** Refusals that mean the page's catalogue or places in line are out of date. */
const STALE = new Set(['OUT_OF_STOCK', 'SALE_NOT_OPEN', 'SALE_CLOSED', 'ALREADY_QUEUED']);

/** Problems after which repeating the same request (same key) can still succeed. */
export function retryable(err: unknown): boolean {
  if (!(err instanceof ApiError)) return true;
  if (err.code === 'STOCK_UNAVAILABLE') return false; // recorded as refused: the same key would replay it
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

/** Whom the messages go to: the session's profile (the token's name and number), read-only. */
function Contact() {
  const { t } = useI18n();
  const profile = useSession()?.profile;
  const who = [profile?.name, profile?.phone ? formatPhone(profile.phone) : undefined].filter(Boolean).join(' · ');
  return (
    <div class="contact" id="reserve-contact">
      <span class="field-label">{t('form.contact')}</span>
      <p class="contact-who" data-field="contact">
        {who || t('form.contactIdentity')}
      </p>
      <p class="hint">{t('form.contactHint')}</p>
    </div>
  );
}

export function ReserveDialog({
  product,
  onClose,
  onReserved,
  onQueued,
  onStale,
}: {
  product: Product;
  onClose: () => void;
  onReserved: (r: Reservation) => void;
  onQueued: (t: Ticket) => void;
  /** The page showed an older sale than the server's (sold out, closed, not open, already in line): read again. */
  onStale: () => void;
}) {
  const { t, lang } = useI18n();
  const session = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [mode, setMode] = useState<DialogMode>(() => modeOf(product));
  const [fulfilment, setFulfilment] = useState<Fulfilment>('PICKUP');
  const [district, setDistrict] = useState(() => (session?.profile?.district ? (findDistrict(session.profile.district)?.ko ?? '') : ''));
  const [geo, setGeo] = useState<Geo>({ state: 'off' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [wait, startWait] = useCountdown();
  // The attempt: its Idempotency-Key and the request it was sent with. A retry of the same request reuses the key.
  const attempt = useRef<{ key: string; request: string } | undefined>(undefined);

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

  /** Where the customer is: the phone's location, the district chosen, or nothing (the server's last known). */
  const where = () =>
    geo.state === 'on'
      ? { latitude: Math.round(geo.latitude * 1e6) / 1e6, longitude: Math.round(geo.longitude * 1e6) / 1e6 }
      : district
        ? { district }
        : undefined;

  const send = () => {
    const customer = where();
    const body = { quantity: 1, fulfilment, ...(customer ? { customer } : {}) };
    return mode === 'reserve'
      ? { path: '/reservations', body: { productId: product.id, ...body } }
      : { path: `/products/${product.id}/tickets`, body };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    const { path, body } = send();
    const request = `${path} ${JSON.stringify(body)}`;
    const key = attempt.current?.request === request ? attempt.current.key : randomUuid();
    attempt.current = { key, request };
    setBusy(true);
    setError(undefined);
    try {
      const answer = await call<Reservation | Ticket>(path, { method: 'POST', body, idempotencyKey: key });
      attempt.current = undefined;
      // 202: a place in line (the product's line is engaged, or it opens later); 201: reserved.
      if (answer.status === 202) onQueued(answer.body as Ticket);
      else onReserved(answer.body as Reservation);
      dialog.current?.close();
    } catch (err) {
      if (!retryable(err)) attempt.current = undefined;
      if (err instanceof ApiError && err.status === 429) startWait(err.retryAfter ?? 1);
      // Not open yet (the catalogue was older than the sale): the same dialog joins the line instead.
      if (err instanceof ApiError && err.code === 'SALE_NOT_OPEN') setMode('join');
      if (err instanceof ApiError && STALE.has(err.code)) onStale();
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
  const joining = mode === 'join';
  const opensAt = product.sale.opensAt && product.sale.state === 'SCHEDULED' ? formatDateTime(product.sale.opensAt, lang) : undefined;

  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="reserve-title">
      <form class="stack" onSubmit={(e) => void submit(e)}>
        <div class="dialog-head">
          <h2 id="reserve-title" ref={heading} tabIndex={-1}>
            {t(joining ? 'form.joinTitle' : 'form.title', { name: product.name })}
          </h2>
          <p class="muted">
            {t('form.price')}: {formatPrice(product.priceKrw, lang)} · {opensAt ? t('catalogue.opensAt', { time: opensAt }) : t('catalogue.stock', { n: formatNumber(product.availableStock, lang) })}
          </p>
          {joining && <p class="hint">{t('form.joinNote')}</p>}
        </div>
        <fieldset class="choices">
          <legend>{t('form.fulfilment')}</legend>
          {FULFILMENTS.map((f) => (
            <label class="choice" key={f}>
              <input type="radio" name="fulfilment" value={f} checked={fulfilment === f} onChange={() => setFulfilment(f)} />
              <span>{t(FULFILMENT_CHOICES[f])}</span>
            </label>
          ))}
        </fieldset>
        <Contact />
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
        <Feedback error={error} retrySeconds={wait > 0 ? wait : undefined} success={busy ? t(joining ? 'form.joining' : 'form.submitting') : undefined} />
        <div class="dialog-actions">
          <button type="button" class="button ghost" onClick={() => dialog.current?.close()}>
            {t('close')}
          </button>
          <button type="submit" class="button primary" disabled={busy || wait > 0}>
            {wait > 0 ? t('retryIn', { s: wait }) : error && attempt.current ? t('retry') : t(joining ? 'form.join' : 'form.submit')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
