/**
 * Sign in. In development the API lists demo identities (`GET /dev/identities`) and signs a token
 * for the one picked (`POST /dev/login`); without the dev login (404) sign-in needs a token from
 * the identity provider, pasted here (also offered, folded, beside the demo identities).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { Feedback, Field, PageHeader } from '../components.js';
import { hasMessage, useI18n } from '../i18n.js';
import { HOME, readToken, setSession, takeFlash, useSession, type Session } from '../session.js';
import type { Identities, LoginAnswer } from '../types.js';
import { findDistrict } from '../../shared/districts.js';

type Load = { state: 'loading' } | { state: 'ready'; identities: Identities } | { state: 'unavailable' } | { state: 'failed'; error: unknown };

function TokenForm({ busy, onSubmit }: { busy: boolean; onSubmit: (token: string) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(token.trim());
      }}
    >
      <Field id="token" label={t('signIn.tokenLabel')} hint={t('signIn.tokenHint')}>
        <textarea
          id="token"
          name="token"
          rows={3}
          required
          autocomplete="off"
          spellcheck={false}
          aria-describedby="token-hint"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </Field>
      <div>
        <button type="submit" class="button" disabled={busy}>
          {t('signIn.tokenButton')}
        </button>
      </div>
    </form>
  );
}

export function SignInPage() {
  const { t, lang } = useI18n();
  const session = useSession();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [flash] = useState(() => takeFlash());
  const [store, setStore] = useState('');

  const fetchIdentities = async () => {
    setLoad({ state: 'loading' });
    try {
      const identities = await api<Identities>('/dev/identities', { token: '' });
      setLoad({ state: 'ready', identities });
      setStore((s) => s || identities.stores[0]?.id || '');
    } catch (err) {
      setLoad(err instanceof ApiError && err.status === 404 ? { state: 'unavailable' } : { state: 'failed', error: err });
    }
  };
  useEffect(() => void fetchIdentities(), []);

  const enter = (next: Session) => {
    setSession(next);
    location.hash = HOME[next.role];
  };

  const devLogin = async (body: Record<string, string>, extra: Partial<Session> = {}) => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<LoginAnswer>('/dev/login', { method: 'POST', body, token: '' });
      enter({
        token: answer.token,
        role: answer.role,
        sub: answer.sub,
        ...(answer.store ? { store: answer.store } : {}),
        ...(answer.expiresAt ? { expiresAt: answer.expiresAt } : {}),
        ...extra,
      });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const tokenLogin = async (token: string) => {
    const claims = readToken(token);
    if (!claims) {
      setError(new Error(t('signIn.tokenInvalid')));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // Every role may list reservations: the cheapest way to ask the server whether the token is good.
      await api('/reservations?limit=1', { token });
      enter({ token, ...claims });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error(t('signIn.tokenRejected')) : err);
    } finally {
      setBusy(false);
    }
  };

  const districtName = (name: string) => {
    const d = findDistrict(name);
    return d ? d[lang] : name;
  };

  return (
    <section class="signin">
      <PageHeader title={t('signIn.title')}>
        {load.state === 'ready' && <p class="lead">{t('signIn.intro')}</p>}
      </PageHeader>
      {flash && hasMessage(flash) && <p class="note info">{t(flash)}</p>}
      {session && (
        <p class="note info">
          {t('signIn.current', { who: session.profile?.name ?? session.storeName ?? session.sub })}{' '}
          <a href={HOME[session.role]}>{t('signIn.continue')}</a>
        </p>
      )}
      <Feedback error={error} success={busy ? t('signIn.signingIn') : undefined} />

      {load.state === 'loading' && <p class="muted">{t('loading')}</p>}
      {load.state === 'failed' && (
        <div>
          <Feedback error={load.error} />
          <button type="button" class="button ghost" onClick={() => void fetchIdentities()}>
            {t('retry')}
          </button>
        </div>
      )}

      {load.state === 'ready' && (
        <>
          <div class="signin-grid">
            <section class="panel" aria-labelledby="signin-customers">
              <h2 id="signin-customers">{t('signIn.customers')}</h2>
              <ul class="identity-list">
                {load.identities.customers.map((c) => (
                  <li key={c.sub}>
                    <button
                      type="button"
                      class="identity"
                      disabled={busy}
                      data-sub={c.sub}
                      onClick={() => void devLogin({ role: 'customer', sub: c.sub }, { profile: { name: c.name, phone: c.phone, district: c.district } })}
                    >
                      <span class="identity-name">{c.name}</span>
                      <span class="identity-meta">
                        {districtName(c.district)} · {c.sub}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
            <section class="panel" aria-labelledby="signin-staff">
              <h2 id="signin-staff">{t('signIn.staff')}</h2>
              <form
                class="stack"
                onSubmit={(e) => {
                  e.preventDefault();
                  const chosen = load.identities.stores.find((s) => s.id === store);
                  if (chosen) void devLogin({ role: 'store', store: chosen.id }, { storeName: chosen.name });
                }}
              >
                <Field id="signin-store" label={t('signIn.store')}>
                  <select id="signin-store" name="store" value={store} onChange={(e) => setStore(e.currentTarget.value)}>
                    {load.identities.stores.map((s) => (
                      <option key={s.id} value={s.id}>
                        {s.name} ({s.id})
                      </option>
                    ))}
                  </select>
                </Field>
                <div>
                  <button type="submit" class="button" disabled={busy || !store}>
                    {t('signIn.staffButton')}
                  </button>
                </div>
              </form>
            </section>
            <section class="panel" aria-labelledby="signin-admin">
              <h2 id="signin-admin">{t('signIn.admin')}</h2>
              <button type="button" class="button" disabled={busy} onClick={() => void devLogin({ role: 'admin' })}>
                {t('signIn.adminButton')}
              </button>
            </section>
          </div>
          <p class="muted small">{t('signIn.devNote')}</p>
          <details class="panel token-login">
            <summary>{t('signIn.tokenSummary')}</summary>
            <TokenForm busy={busy} onSubmit={(token) => void tokenLogin(token)} />
          </details>
        </>
      )}

      {load.state === 'unavailable' && (
        <section class="panel" aria-labelledby="signin-token">
          <p class="note info">{t('signIn.unavailable')}</p>
          <h2 id="signin-token">{t('signIn.tokenSummary')}</h2>
          <TokenForm busy={busy} onSubmit={(token) => void tokenLogin(token)} />
        </section>
      )}
    </section>
  );
}
