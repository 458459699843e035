/** Pieces the pages share: feedback (errors and confirmations), status badges, the stream's state. */
import type { ComponentChildren } from 'preact';
import { ApiError } from './api.js';
import type { StreamState } from './events.js';
import { hasMessage, useI18n, type Translate } from './i18n.js';
import type { Label } from './types.js';

/** What went wrong, for a person: the app's own words for the problems it knows, and the server's title and detail. */
export function describeError(error: unknown, t: Translate, retrySeconds?: number): { headline: string; detail: string } {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    const seconds = retrySeconds ?? error.retryAfter ?? 1;
    if (error.code === 'NETWORK') return { headline: t('error.NETWORK'), detail: '' };
    if (hasMessage(key)) {
      return { headline: t(key, { s: seconds }), detail: [error.title, error.detail].filter(Boolean).join(' — ') };
    }
    return { headline: error.title, detail: error.detail };
  }
  return { headline: error instanceof Error ? error.message : String(error), detail: '' };
}

/**
 * A polite live region that is always in the page (so what appears in it is announced): an error
 * (problem+json title and detail), or a confirmation.
 */
export function Feedback({ error, success, retrySeconds, id }: { error?: unknown; success?: string | undefined; retrySeconds?: number; id?: string }) {
  const { t } = useI18n();
  const described = error ? describeError(error, t, retrySeconds) : undefined;
  return (
    <div class="feedback" aria-live="polite" aria-atomic="true" id={id}>
      {described ? (
        <p class="note error">
          <strong>{described.headline}</strong>
          {described.detail && <span class="detail">{described.detail}</span>}
        </p>
      ) : success ? (
        <p class="note success">{success}</p>
      ) : null}
    </div>
  );
}

export function StatusBadge({ status, label }: { status: string; label: Label }) {
  const { lang } = useI18n();
  return <span class={`badge status-${status.toLowerCase().replace('_', '-')}`}>{label[lang]}</span>;
}

export function LiveIndicator({ state }: { state: StreamState }) {
  const { t } = useI18n();
  const text = state === 'open' ? t('liveOpen') : state === 'retrying' ? t('liveRetrying') : t('liveConnecting');
  return (
    <span class={`live live-${state}`}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** A page's heading block: the h1 takes focus when the page opens (for screen readers and the keyboard). */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1 tabIndex={-1} class="page-title">
        {title}
      </h1>
      {children}
    </div>
  );
}

/** Definition-list rows that skip what is unknown. */
export function Facts({ rows }: { rows: [string, ComponentChildren | null | undefined][] }) {
  return (
    <dl class="facts">
      {rows
        .filter(([, value]) => value !== null && value !== undefined && value !== '')
        .map(([term, value]) => (
          <div class="fact" key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** A labelled control: the label names the control by `for` (a label wrapped around a select would name it with its value too). */
export function Field({ id, label, hint, className, children }: { id: string; label: string; hint?: string; className?: string; children: ComponentChildren }) {
  return (
    <div class={`field${className ? ` ${className}` : ''}`}>
      <label class="field-label" for={id}>
        {label}
      </label>
      {children}
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
    </div>
  );
}
