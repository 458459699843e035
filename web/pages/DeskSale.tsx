/**
 * A product's sale on the launch desk: its state, pause and resume, the line's figures (waiting,
 * admitted per second, the wait of the last in line, when it sold out), the lottery's published
 * digest and, once drawn, its seed and record; and the settings — opening and closing time in
 * Seoul's time, units per customer, first-come or lottery, the admission rate.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Feedback, Field } from '../components.js';
import { formatDateTime, formatDuration, formatNumber, fromSeoulInput, toSeoulInput } from '../format.js';
import { announce } from '../hooks.js';
import { useI18n } from '../i18n.js';
import type { Draw, LineOrder, Sale, SalePatch } from '../types.js';

/** What the desk has typed and not saved; a field left undefined shows the sale as it is. */
interface Draft {
  opensAt?: string;
  closesAt?: string;
  unitLimit?: string;
  order?: LineOrder;
  rateMode?: 'auto' | 'fixed';
  rate?: string;
}

const sameInstant = (a: string | null, b: string | null) => (a === null || b === null ? a === b : Date.parse(a) === Date.parse(b));

/** Only what the draft changes: an unchanged opening sent again could start a new lottery. */
function patchOf(draft: Draft, sale: Sale): SalePatch {
  const patch: SalePatch = {};
  if (draft.opensAt !== undefined && !sameInstant(fromSeoulInput(draft.opensAt), sale.opensAt)) patch.opensAt = fromSeoulInput(draft.opensAt);
  if (draft.closesAt !== undefined && !sameInstant(fromSeoulInput(draft.closesAt), sale.closesAt)) patch.closesAt = fromSeoulInput(draft.closesAt);
  if (draft.unitLimit !== undefined && Number(draft.unitLimit) !== sale.unitLimit) patch.unitLimit = Number(draft.unitLimit);
  if (draft.order !== undefined && draft.order !== sale.order) patch.order = draft.order;
  const mode = draft.rateMode ?? (sale.admissionRate === null ? 'auto' : 'fixed');
  const rate = mode === 'auto' ? null : Number(draft.rate ?? sale.admissionRate ?? 1);
  if (rate !== sale.admissionRate) patch.admissionRate = rate;
  return patch;
}

function Lottery({ productId, name, sale }: { productId: number; name: string; sale: Sale }) {
  const { t, lang } = useI18n();
  const [draw, setDraw] = useState<Draw>();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>();
  const { lottery } = sale;
  const toggle = async () => {
    if (open) return setOpen(false);
    setOpen(true);
    setError(undefined);
    try {
      setDraw(await api<Draw>(`/products/${productId}/draw`));
    } catch (err) {
      setError(err);
    }
  };
  // The record as a file: the API wants a bearer token, so a plain link to it would be refused.
  const download = useMemo(() => (draw ? URL.createObjectURL(new Blob([JSON.stringify(draw, null, 2)], { type: 'application/json' })) : undefined), [draw]);
  useEffect(() => () => void (download && URL.revokeObjectURL(download)), [download]);
  const recordId = `draw-${productId}`;
  return (
    <div class="lottery">
      <dl class="facts">
        <div class="fact">
          <dt>{t('desk.seedSha256')}</dt>
          <dd>
            <code class="digest" data-field="seedSha256">
              {lottery.seedSha256 ?? '–'}
            </code>
          </dd>
        </div>
        <div class="fact">
          <dt>{t('desk.seed')}</dt>
          <dd>{lottery.seed ? <code class="digest">{lottery.seed}</code> : <span class="muted">{t('desk.notDrawn')}</span>}</dd>
        </div>
        {lottery.drawnAt && (
          <div class="fact">
            <dt>{t('desk.drawnAt')}</dt>
            <dd>
              {formatDateTime(lottery.drawnAt, lang)} · {t('desk.drawn')} {formatNumber(lottery.drawn ?? 0, lang)}
            </dd>
          </div>
        )}
      </dl>
      {lottery.drawnAt && (
        <button type="button" class="button ghost small" aria-expanded={open} aria-controls={recordId} aria-label={`${t(open ? 'desk.drawRecordHide' : 'desk.drawRecord')}: ${name}`} onClick={() => void toggle()}>
          {t(open ? 'desk.drawRecordHide' : 'desk.drawRecord')}
        </button>
      )}
      {open && (
        <section class="draw-record" id={recordId} aria-label={t('desk.drawRecordLabel', { name })}>
          <Feedback error={error} />
          {draw && (
            <>
              <p class="small">
                <strong>{t('desk.drawMethod')}</strong>: {draw.algorithm}
              </p>
              <p class="small">{t('desk.drawFirst', { n: Math.min(10, draw.tickets.length) })}</p>
              <ol class="draw-tickets">
                {draw.tickets.slice(0, 10).map((id) => (
                  <li key={id}>
                    <code>{id}</code>
                  </li>
                ))}
              </ol>
              <a class="button ghost small" href={download} download={`draw-${productId}.json`}>
                {t('desk.drawDownload')}
              </a>
            </>
          )}
        </section>
      )}
    </div>
  );
}

function Settings({ productId, name, sale, onChanged }: { productId: number; name: string; sale: Sale; onChanged: (s: Sale) => void }) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<Draft>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const edit = (change: Draft) => {
    setDraft((d) => ({ ...d, ...change }));
    setDone(undefined);
  };
  const id = (field: string) => `sale-${field}-${productId}`;
  const rateMode = draft.rateMode ?? (sale.admissionRate === null ? 'auto' : 'fixed');

  const save = async (e: Event) => {
    e.preventDefault();
    const patch = patchOf(draft, sale);
    setError(undefined);
    if (Object.keys(patch).length === 0) return setDone(t('desk.noChange'));
    setBusy(true);
    try {
      onChanged(await api<Sale>(`/products/${productId}/sale`, { method: 'PATCH', body: patch }));
      setDraft({});
      setDone(t('desk.saved', { name }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="sale-settings">
      <summary>{t('desk.settings', { name })}</summary>
      <form class="stack" onSubmit={(e) => void save(e)}>
        <div class="two">
          <Field id={id('opens')} label={t('desk.opensAt')} hint={t('desk.opensHint')}>
            <input
              id={id('opens')}
              name="opensAt"
              type="datetime-local"
              step={60}
              aria-describedby={`${id('opens')}-hint`}
              value={draft.opensAt ?? toSeoulInput(sale.opensAt)}
              onInput={(e) => edit({ opensAt: e.currentTarget.value })}
            />
          </Field>
          <Field id={id('closes')} label={t('desk.closesAt')} hint={t('desk.closesHint')}>
            <input
              id={id('closes')}
              name="closesAt"
              type="datetime-local"
              step={60}
              aria-describedby={`${id('closes')}-hint`}
              value={draft.closesAt ?? toSeoulInput(sale.closesAt)}
              onInput={(e) => edit({ closesAt: e.currentTarget.value })}
            />
          </Field>
          <Field id={id('limit')} label={t('desk.unitLimit')}>
            <input
              id={id('limit')}
              name="unitLimit"
              type="number"
              min={1}
              max={10}
              step={1}
              inputMode="numeric"
              required
              value={draft.unitLimit ?? String(sale.unitLimit)}
              onInput={(e) => edit({ unitLimit: e.currentTarget.value })}
            />
          </Field>
          <Field id={id('order')} label={t('desk.order')} hint={t('desk.orderHint')}>
            <select id={id('order')} name="order" aria-describedby={`${id('order')}-hint`} value={draft.order ?? sale.order} onChange={(e) => edit({ order: e.currentTarget.value as LineOrder })}>
              <option value="FIFO">{t('order.FIFO')}</option>
              <option value="LOTTERY">{t('order.LOTTERY')}</option>
            </select>
          </Field>
        </div>
        <fieldset class="choices">
          <legend>{t('desk.rate')}</legend>
          {(['auto', 'fixed'] as const).map((mode) => (
            <label class="choice" key={mode}>
              <input type="radio" name={id('rate-mode')} value={mode} checked={rateMode === mode} onChange={() => edit({ rateMode: mode })} />
              <span>{t(mode === 'auto' ? 'desk.rateAuto' : 'desk.rateFixed')}</span>
            </label>
          ))}
          <Field id={id('rate')} label={t('desk.rateValue')}>
            <input
              id={id('rate')}
              name="admissionRate"
              type="number"
              min={0.1}
              max={10000}
              step={0.1}
              inputMode="decimal"
              required={rateMode === 'fixed'}
              disabled={rateMode === 'auto'}
              value={draft.rate ?? String(sale.admissionRate ?? 10)}
              onInput={(e) => edit({ rate: e.currentTarget.value, rateMode: 'fixed' })}
            />
          </Field>
        </fieldset>
        <div>
          <button type="submit" class="button small" disabled={busy} aria-label={t('desk.saveLabel', { name })}>
            {t('desk.save')}
          </button>
        </div>
        <Feedback error={error} success={done} />
      </form>
    </details>
  );
}

export function SalePanel({ productId, name, sale, onChanged }: { productId: number; name: string; sale: Sale; onChanged: (s: Sale) => void }) {
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const { queue } = sale;

  const pause = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<Sale>(`/products/${productId}/sale`, { method: 'PATCH', body: { paused: !sale.paused } });
      onChanged(answer);
      announce(t(answer.paused ? 'desk.paused' : 'desk.resumed', { name }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="sale-panel">
      <div class="sale-head">
        <span class={`chip sale-${sale.state.toLowerCase()}`} data-field="saleState">
          {t(`sale.${sale.state}`)}
        </span>
        {sale.opensAt && (
          <span class="small muted">
            {t('line.opensAt')} {formatDateTime(sale.opensAt, lang)}
          </span>
        )}
        <span class="chip">{t(`order.${sale.order}`)}</span>
        <button
          type="button"
          class={`button small ${sale.paused ? '' : 'danger-ghost'}`}
          disabled={busy}
          aria-label={t(sale.paused ? 'desk.resumeLabel' : 'desk.pauseLabel', { name })}
          onClick={() => void pause()}
        >
          {t(sale.paused ? 'desk.resume' : 'desk.pause')}
        </button>
      </div>
      <Feedback error={error} />
      <dl class="desk-stats line-stats" aria-label={t('desk.line')}>
        <div>
          <dt>{t('desk.waiting')}</dt>
          <dd data-field="waiting">{formatNumber(queue.waiting, lang)}</dd>
        </div>
        <div>
          <dt>{t('desk.admittedPerSecond')}</dt>
          <dd data-field="admittedPerSecond">{queue.admittedPerSecond === null ? '–' : formatNumber(queue.admittedPerSecond, lang, 1)}</dd>
        </div>
        <div>
          <dt>{t('desk.lastWait')}</dt>
          <dd data-field="lastWait">{queue.lastInLineWaitSeconds === null ? '–' : formatDuration(queue.lastInLineWaitSeconds, lang)}</dd>
        </div>
        <div>
          <dt>{t('desk.issued')}</dt>
          <dd data-field="issued">{formatNumber(queue.issued, lang)}</dd>
        </div>
        {queue.soldOutAt && (
          <div>
            <dt>{t('desk.soldOutAt')}</dt>
            <dd data-field="soldOutAt">{formatDateTime(queue.soldOutAt, lang)}</dd>
          </div>
        )}
      </dl>
      {sale.order === 'LOTTERY' && <Lottery productId={productId} name={name} sale={sale} />}
      <Settings productId={productId} name={name} sale={sale} onChanged={onChanged} />
    </div>
  );
}
