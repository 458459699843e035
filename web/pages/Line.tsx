/**
 * "Your places in line": each ticket the customer holds — its place, the people ahead, the
 * estimated wait with its range, the opening it waits for — and what became of it (admitted, a
 * reservation, sold out, lapsed, refused), with leaving the line and joining again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Facts, Feedback } from '../components.js';
import { formatDateTime, formatDuration, formatNumber, formatWait } from '../format.js';
import { announce, useNow } from '../hooks.js';
import { hasMessage, useI18n, type Translate } from '../i18n.js';
import type { Lang } from '../i18n.js';
import type { Ticket } from '../types.js';

/** What the customer reads about the wait: the estimate with its range, or why there is none. */
function waitText(ticket: Ticket, paused: boolean, t: Translate, lang: Lang): string {
  if (paused) return t('line.waitPaused');
  return ticket.estimatedWait ? formatWait(ticket.estimatedWait, lang) : t('line.waitUnknown');
}

/** The refusal's reason in the customer's words, else its code. */
const reasonOf = (code: string | null, t: Translate) => {
  const key = `refusal.${code ?? ''}`;
  return hasMessage(key) ? t(key) : (code ?? '');
};

/** The opening a scheduled ticket waits for, counting down. */
function Opening({ opensAt }: { opensAt: string }) {
  const { t, lang } = useI18n();
  const now = useNow();
  const left = Math.max(0, (Date.parse(opensAt) - now) / 1000);
  return (
    <>
      <time dateTime={opensAt}>{formatDateTime(opensAt, lang)}</time>
      {left > 0 && <span class="countdown"> ({t('catalogue.opensIn', { d: formatDuration(left, lang) })})</span>}
    </>
  );
}

function Waiting({ ticket, paused }: { ticket: Ticket; paused: boolean }) {
  const { t, lang } = useI18n();
  const undrawn = ticket.position === null && ticket.sale.order === 'LOTTERY';
  return (
    <>
      <div class="ticket-place">
        <span class="ticket-place-label">{t('line.position')}</span>
        <strong class="big-number" data-field="position">
          {undrawn ? t('line.lotteryPending') : t('line.positionValue', { n: formatNumber(ticket.position ?? 0, lang) })}
        </strong>
        {undrawn && <span class="hint">{t('line.lotteryHint')}</span>}
      </div>
      <Facts
        rows={[
          [t('line.ahead'), ticket.ahead === null ? null : <span data-field="ahead">{t('line.aheadValue', { n: formatNumber(ticket.ahead, lang) })}</span>],
          [t('line.wait'), <span data-field="wait">{waitText(ticket, paused, t, lang)}</span>],
          [t('line.unitsLeft'), ticket.sale.unitsLeft === null ? null : <span data-field="units-left">{formatNumber(ticket.sale.unitsLeft, lang)}</span>],
          [
            t('line.outlook'),
            ticket.estimatedWait?.soldOutLikely ? (
              <span class="warning-text" data-field="outlook">
                {ticket.estimatedWait.soldOutInSeconds === null
                  ? t('line.soldOutLikely')
                  : t('line.soldOutLikelyIn', { d: formatDuration(ticket.estimatedWait.soldOutInSeconds, lang) })}
              </span>
            ) : null,
          ],
          [t('line.opensAt'), ticket.sale.state === 'SCHEDULED' && ticket.sale.opensAt ? <Opening opensAt={ticket.sale.opensAt} /> : null],
          [t('line.order'), t(`order.${ticket.sale.order}`)],
        ]}
      />
    </>
  );
}

/** Leaving: asked twice, since the place cannot be had back. */
function Leave({ ticket, productName, onLeft }: { ticket: Ticket; productName: string; onLeft: (t: Ticket) => void }) {
  const { t } = useI18n();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) yes.current?.focus();
  }, [confirming]);

  const leave = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onLeft(await api<Ticket>(`/tickets/${ticket.id}`, { method: 'DELETE' }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!confirming) {
    return (
      <div class="card-actions">
        <button type="button" class="button danger-ghost small" aria-label={t('line.leaveLabel', { product: productName })} onClick={() => setConfirming(true)}>
          {t('line.leave')}
        </button>
      </div>
    );
  }
  return (
    <div class="confirm">
      <p id={`leave-q-${ticket.id}`}>
        <strong>{t('line.leaveConfirm')}</strong>
      </p>
      <div class="row">
        <button type="button" ref={yes} class="button danger" disabled={busy} aria-describedby={`leave-q-${ticket.id}`} onClick={() => void leave()}>
          {t('line.leaveYes')}
        </button>
        <button type="button" class="button ghost" disabled={busy} onClick={() => setConfirming(false)}>
          {t('line.leaveNo')}
        </button>
      </div>
      <Feedback error={error} />
    </div>
  );
}

export interface TicketActions {
  productName(productId: number): string;
  /**
   * Whether the product's sale is paused as the catalogue last read it: a pause moves nobody, so no
   * ticket event tells of it, and the ticket's own word may be older.
   */
  paused(productId: number): boolean;
  onLeft(t: Ticket): void;
  onJoinAgain(t: Ticket, trigger: HTMLElement): void;
  onDismiss(t: Ticket): void;
  onShowReservation(reservationId: string): void;
}

function TicketCard({ ticket, actions }: { ticket: Ticket; actions: TicketActions }) {
  const { t } = useI18n();
  const product = actions.productName(ticket.productId);
  const titleId = `ticket-title-${ticket.id}`;
  const note = ticket.status === 'WAITING' ? undefined : t(`ticketNote.${ticket.status}`, { reason: reasonOf(ticket.refusal, t) });
  const ended = ticket.status !== 'WAITING' && ticket.status !== 'ADMITTED';
  return (
    <li>
      <article class={`card ticket ticket-${ticket.status.toLowerCase()}`} id={`ticket-${ticket.id}`} tabIndex={-1} aria-labelledby={titleId} data-ticket-id={ticket.id} data-status={ticket.status}>
        <div class="card-head">
          <h3 id={titleId}>{product}</h3>
          <p class="status">
            <span class={`badge ticket-badge-${ticket.status.toLowerCase()}`}>{t(`ticket.${ticket.status}`)}</span>
          </p>
        </div>
        {ticket.status === 'WAITING' && <Waiting ticket={ticket} paused={ticket.sale.state === 'PAUSED' || actions.paused(ticket.productId)} />}
        {note && (
          <p class={`ticket-note ${ticket.status === 'ADMITTED' ? 'pulse' : ''}`} data-field="note">
            {note}
          </p>
        )}
        {ticket.status === 'WAITING' && <Leave ticket={ticket} productName={product} onLeft={actions.onLeft} />}
        {ended && (
          <div class="card-actions">
            {ticket.status === 'RESERVED' && ticket.reservationId && (
              <button type="button" class="button small" onClick={() => actions.onShowReservation(ticket.reservationId!)}>
                {t('line.showReservation')}
              </button>
            )}
            {(ticket.status === 'LAPSED' || ticket.status === 'CLOSED') && (
              <button type="button" class="button small" aria-label={t('line.joinAgainLabel', { product })} onClick={(e) => actions.onJoinAgain(ticket, e.currentTarget)}>
                {t('line.joinAgain')}
              </button>
            )}
            <button type="button" class="button ghost small" aria-label={t('line.dismissLabel', { product })} onClick={() => actions.onDismiss(ticket)}>
              {t('line.dismiss')}
            </button>
          </div>
        )}
      </article>
    </li>
  );
}

export function LineSection({ tickets, error, actions }: { tickets: Ticket[]; error: unknown; actions: TicketActions }) {
  const { t } = useI18n();
  return (
    <section class="section line-section" aria-labelledby="line-title">
      <div class="section-head">
        <h2 id="line-title">{t('line.title')}</h2>
      </div>
      <p class="hint">{t('line.keepOpen')}</p>
      <Feedback error={error} />
      <ul class="ticket-list">
        {tickets.map((ticket) => (
          <TicketCard key={ticket.id} ticket={ticket} actions={actions} />
        ))}
      </ul>
    </section>
  );
}

/**
 * Tells the customer (the app's live region) what became of a ticket, naming its phone: one
 * sentence per change, since several cards may change at once.
 */
export function announceTicket(ticket: Ticket, before: Ticket | undefined, product: string, t: Translate): void {
  if (!before || before.status === ticket.status) return;
  const status = t('line.statusChanged', { product, status: t(`ticket.${ticket.status}`) });
  const note = ticket.status === 'WAITING' ? '' : t(`ticketNote.${ticket.status}`, { reason: reasonOf(ticket.refusal, t) });
  announce([status, note].filter(Boolean).join('. '));
}
