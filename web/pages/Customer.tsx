/**
 * The customer's page: the phones with their sale (on sale now, opening later with a countdown,
 * paused, sold out, closed), reserving one or joining its line, the places in line followed live,
 * the reservations kept current by the event stream, the messages sent, and cancelling.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Facts, Feedback, Field, LiveIndicator, PageHeader, StatusBadge } from '../components.js';
import { formatDateTime, formatDistance, formatDuration, formatNumber, formatPrice, randomUuid } from '../format.js';
import { announce, useEventStream, useNow, usePolling } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { isCancellable, TERMINAL_STATUSES } from '../../app/reservation/statuses.js';
import { mergeNewer } from '../reservations.js';
import { useSession } from '../session.js';
import { useTicketPolling, useTicketStore } from '../tickets.js';
import type { Notification, Product, Reservation, ReservationPage, Ticket } from '../types.js';
import { announceTicket, LineSection, type TicketActions } from './Line.js';
import { modeOf, ReserveDialog, retryable } from './ReserveDialog.js';

// On launch day tens of thousands of customers have this page open: every one reading the catalogue
// every few seconds would be thousands of requests a second. The stock shown is a guide; the
// reserve request decides.
const PRODUCTS_EVERY_MS = 15_000;
const MESSAGES_EVERY_MS = 3_000;

/** Newest reservation first. */
function merge(list: Reservation[], incoming: Reservation[]): Reservation[] {
  return mergeNewer(list, incoming).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/** Moves the keyboard focus to an element of the page (a card), if it is there. */
function focusOn(id: string): boolean {
  const el = document.getElementById(id);
  if (!el) return false;
  el.focus();
  el.scrollIntoView({ block: 'nearest' });
  return true;
}

/** What a product's sale says under its name: the opening with a countdown, the pause, the line. */
function SaleLine({ product: p, now }: { product: Product; now: number }) {
  const { t, lang } = useI18n();
  const { sale } = p;
  if (sale.state === 'SCHEDULED' && sale.opensAt) {
    const left = (Date.parse(sale.opensAt) - now) / 1000;
    return (
      <p class="sale-line" data-field="sale">
        <time dateTime={sale.opensAt}>{t('catalogue.opensAt', { time: formatDateTime(sale.opensAt, lang) })}</time>{' '}
        <span class="countdown">{left > 0 ? t('catalogue.opensIn', { d: formatDuration(left, lang) }) : t('catalogue.openingNow')}</span>
        {sale.order === 'LOTTERY' && <span class="chip">{t('catalogue.lottery')}</span>}
      </p>
    );
  }
  if (sale.state === 'PAUSED') {
    return (
      <p class="sale-line" data-field="sale">
        <span class="chip chip-paused">{t('catalogue.paused')}</span> <span class="small muted">{t('catalogue.pausedNote')}</span>
      </p>
    );
  }
  if (sale.state === 'CLOSED') {
    return (
      <p class="sale-line" data-field="sale">
        <span class="chip chip-closed">{t('catalogue.closed')}</span>
      </p>
    );
  }
  return sale.waiting > 0 && sale.state === 'OPEN' ? (
    <p class="sale-line small muted" data-field="sale">
      {t('catalogue.waiting', { n: formatNumber(sale.waiting, lang) })}
    </p>
  ) : null;
}

/** The product's button: reserve, join its line, the customer's own place in it, or why neither. */
function ProductAction({ product: p, ticket, onReserve }: { product: Product; ticket: Ticket | undefined; onReserve: (p: Product, trigger: HTMLElement) => void }) {
  const { t } = useI18n();
  if (ticket) {
    return (
      <button type="button" class="button ghost" aria-label={t('catalogue.myTicketLabel', { name: p.name })} onClick={() => focusOn(`ticket-${ticket.id}`)}>
        {t('catalogue.myTicket')}
      </button>
    );
  }
  const { state } = p.sale;
  if (state === 'SOLD_OUT' || state === 'CLOSED' || (state === 'OPEN' && p.availableStock <= 0)) {
    return (
      <button type="button" class="button" disabled aria-label={`${p.name}: ${state === 'CLOSED' ? t('catalogue.closed') : t('catalogue.soldOut')}`}>
        {state === 'CLOSED' ? t('catalogue.closed') : t('catalogue.soldOut')}
      </button>
    );
  }
  const join = modeOf(p) === 'join';
  return (
    <button type="button" class="button" aria-label={t(join ? 'catalogue.joinLabel' : 'catalogue.reserveLabel', { name: p.name })} onClick={(e) => onReserve(p, e.currentTarget)}>
      {join ? t('catalogue.joinLine') : t('catalogue.reserve')}
    </button>
  );
}

function Catalogue({
  products,
  error,
  ticketFor,
  onReserve,
  onOpening,
}: {
  products: Product[] | undefined;
  error: unknown;
  ticketFor: (productId: number) => Ticket | undefined;
  onReserve: (p: Product, trigger: HTMLElement) => void;
  /** An opening shown as still to come has come: the catalogue is read again. */
  onOpening: () => void;
}) {
  const { t, lang } = useI18n();
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (products ?? []).filter((p) => !q || `${p.name} ${p.brand} ${p.sku}`.toLowerCase().includes(q));
  }, [products, query]);
  const scheduled = shown.some((p) => p.sale.state === 'SCHEDULED');
  const now = useNow(1_000, scheduled);
  const opened = shown.some((p) => p.sale.state === 'SCHEDULED' && p.sale.opensAt && Date.parse(p.sale.opensAt) <= now);
  // Read again until the catalogue says it opened (the server's clock decides), spread over two
  // seconds so that every open page does not ask at the same instant.
  useEffect(() => {
    if (!opened) return;
    const timer = setTimeout(onOpening, Math.random() * 2_000);
    const again = setInterval(onOpening, 3_000);
    return () => {
      clearTimeout(timer);
      clearInterval(again);
    };
  }, [opened]);
  return (
    <section class="section" aria-labelledby="catalogue-title">
      <div class="section-head">
        <h2 id="catalogue-title" tabIndex={-1}>
          {t('catalogue.title')}
        </h2>
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
          const soldOut = p.availableStock <= 0 || p.sale.state === 'SOLD_OUT';
          return (
            <li key={p.id} class="card product" data-product-id={p.id} data-sale={p.sale.state}>
              <div class="product-info">
                <div class="product-brand">{p.brand}</div>
                <h3 class="product-name">{p.name}</h3>
                <div class="product-meta">
                  <span class="product-price">{formatPrice(p.priceKrw, lang)}</span>
                  <span class={`stock ${soldOut ? 'out' : p.availableStock <= 5 ? 'low' : ''}`} data-field="stock">
                    {soldOut ? t('catalogue.soldOut') : t('catalogue.stock', { n: formatNumber(p.availableStock, lang) })}
                  </span>
                </div>
                <SaleLine product={p} now={now} />
              </div>
              <ProductAction product={p} ticket={ticketFor(p.id)} onReserve={onReserve} />
            </li>
          );
        })}
      </ul>
    </section>
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
  const productName = (id: number) => products?.find((p) => p.id === id)?.name ?? t('line.product', { id });

  const loadReservations = async () => {
    try {
      const page = await api<ReservationPage>('/reservations?limit=20');
      setReservations((list) => merge(list ?? [], page.items));
      setCursor((c) => c ?? page.nextCursor);
      setListError(undefined);
    } catch (err) {
      setListError(err);
    }
  };

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api<ReservationPage>(`/reservations?limit=20&cursor=${encodeURIComponent(cursor)}`);
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

  /** A ticket that became a reservation: the reservation joins the list (the stream may bring it too). */
  const fetchReservation = async (id: string) => {
    try {
      upsert(await api<Reservation>(`/reservations/${id}`));
    } catch (err) {
      setListError(err);
    }
  };

  const tickets = useTicketStore((ticket, before) => {
    announceTicket(ticket, before, productName(ticket.productId), t);
    if (ticket.status === 'RESERVED' && ticket.reservationId) void fetchReservation(ticket.reservationId);
    // A place taken or ended changes what the catalogue offers (its line's length too).
    if (before && before.status !== ticket.status) void loadProducts();
  });
  const stream = useEventStream({
    reservation: upsert,
    ticket: tickets.upsert,
    ready: () => {
      void loadReservations();
      void tickets.load();
    },
  });
  useTicketPolling(tickets, stream);
  useEffect(() => {
    void loadReservations();
    void tickets.load();
  }, []);

  // After reserving or joining, the new card takes the focus.
  useEffect(() => {
    const id = focusAfter.current;
    if (id && focusOn(id)) focusAfter.current = undefined;
  }, [reservations, tickets.tickets]);

  const reserved = (r: Reservation) => {
    focusAfter.current = `reservation-${r.id}`;
    trigger.current = null;
    upsert(r);
    const text = t('form.reserved', { name: r.product.name });
    setNotice({ id: r.id, text });
    announce(text);
    void loadProducts();
  };

  const queued = (ticket: Ticket) => {
    focusAfter.current = `ticket-${ticket.id}`;
    trigger.current = null;
    tickets.upsert(ticket);
    announce(t('form.queued', { name: productName(ticket.productId) }));
    void loadProducts();
  };

  const actions: TicketActions = {
    productName,
    paused: (id) => products?.find((p) => p.id === id)?.sale.state === 'PAUSED',
    onLeft: (ticket) => {
      tickets.upsert(ticket);
      announce(t('line.left', { product: productName(ticket.productId) }));
      // Its card is gone: the focus goes to the catalogue, where the phone can be had again.
      document.getElementById('catalogue-title')?.focus();
    },
    onJoinAgain: (ticket, el) => {
      const product = products?.find((p) => p.id === ticket.productId);
      if (!product) return;
      trigger.current = el;
      setReserving(product);
    },
    onDismiss: (ticket) => {
      tickets.dismiss(ticket.id);
      document.getElementById('catalogue-title')?.focus();
    },
    onShowReservation: (id) => void focusOn(`reservation-${id}`),
  };

  const name = session?.profile?.name ?? session?.sub ?? '';
  const shownTickets = tickets.tickets ?? [];
  return (
    <div class="customer">
      <PageHeader title={t('customer.title')}>
        <p class="lead">
          {t('customer.hello', { name })} <LiveIndicator state={stream} />
        </p>
      </PageHeader>
      {(shownTickets.length > 0 || tickets.error !== undefined) && <LineSection tickets={shownTickets} error={tickets.error} actions={actions} />}
      <div class="customer-layout">
        <Catalogue
          products={products}
          error={productsError}
          ticketFor={tickets.liveFor}
          onOpening={() => void loadProducts()}
          onReserve={(p, el) => {
            trigger.current = el;
            setNotice(undefined);
            setReserving(p);
          }}
        />
        <section class="section" aria-labelledby="reservations-title">
          <div class="section-head">
            <h2 id="reservations-title" tabIndex={-1}>
              {t('reservations.title')}
            </h2>
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
          onQueued={queued}
          onStale={() => {
            void loadProducts();
            void tickets.load();
          }}
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
