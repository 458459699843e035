/** The app's frame: hash routes (#/, #/customer, #/store, #/desk), the top bar, the live region. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useAnnouncement } from './hooks.js';
import { LANGS, setLang, useI18n, type MessageKey } from './i18n.js';
import { CustomerPage } from './pages/Customer.js';
import { DeskPage } from './pages/Desk.js';
import { SignInPage } from './pages/SignIn.js';
import { StorePage } from './pages/Store.js';
import { HOME, setFlash, signOut, useSession } from './session.js';
import type { Role } from './types.js';

type Route = 'signin' | 'customer' | 'store' | 'desk' | 'notfound';

function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/';
  switch (path) {
    case '/':
      return 'signin';
    case '/customer':
      return 'customer';
    case '/store':
      return 'store';
    case '/desk':
      return 'desk';
    default:
      return 'notfound';
  }
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const update = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

const ROLE_NAME: Record<Role, MessageKey> = { customer: 'roleCustomer', store: 'roleStore', admin: 'roleAdmin' };

/** A page for one role: without a session, back to sign in; with another role, a way to one's own page. */
function ForRole({ role, children }: { role: Role; children: ComponentChildren }) {
  const session = useSession();
  const { t } = useI18n();
  useEffect(() => {
    if (!session) {
      setFlash('signInFirst');
      location.replace('#/');
    }
  }, [session]);
  if (!session) return null;
  if (session.role !== role) {
    return (
      <section class="panel">
        <h1 tabIndex={-1} class="page-title">
          {t('wrongRole', { role: t(ROLE_NAME[role]) })}
        </h1>
        <p>
          <a href={HOME[session.role]}>{t('goToMine')}</a>
        </p>
      </section>
    );
  }
  return <>{children}</>;
}

function LanguageSwitch() {
  const { lang, t } = useI18n();
  return (
    <div class="lang-switch" role="group" aria-label={`${t('language')} / ${lang === 'ko' ? 'Language' : '언어'}`}>
      {LANGS.map((l) => (
        <button type="button" key={l} lang={l} aria-pressed={l === lang} class={l === lang ? 'active' : ''} onClick={() => setLang(l)}>
          {l === 'ko' ? '한국어' : 'English'}
        </button>
      ))}
    </div>
  );
}

export function App() {
  const route = useRoute();
  const session = useSession();
  const { t } = useI18n();
  const announcement = useAnnouncement();

  // A new page: its heading takes the focus, so keyboard and screen-reader users start there (not
  // on the first page: a page just opened starts at its top anyway).
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>('main h1');
    if (heading && document.activeElement !== heading) heading.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route]);

  const page = (() => {
    switch (route) {
      case 'signin':
        return <SignInPage />;
      case 'customer':
        return (
          <ForRole role="customer">
            <CustomerPage />
          </ForRole>
        );
      case 'store':
        return (
          <ForRole role="store">
            <StorePage />
          </ForRole>
        );
      case 'desk':
        return (
          <ForRole role="admin">
            <DeskPage />
          </ForRole>
        );
      default:
        return (
          <section class="panel">
            <h1 tabIndex={-1} class="page-title">
              {t('notFound')}
            </h1>
            <p>
              <a href="#/">{t('goHome')}</a>
            </p>
          </section>
        );
    }
  })();

  const who = session ? `${t(ROLE_NAME[session.role])} · ${session.profile?.name ?? session.storeName ?? session.sub}` : undefined;
  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        {t('skipToContent')}
      </a>
      <header class="topbar">
        <a class="brand" href={session ? HOME[session.role] : '#/'}>
          <span class="brand-mark" aria-hidden="true">
            T
          </span>
          <span>{t('appName')}</span>
        </a>
        <div class="topbar-tools">
          <LanguageSwitch />
          {session && (
            <div class="who">
              <span class="who-name">{who}</span>
              <button type="button" class="button ghost small" onClick={() => signOut()}>
                {t('signOut')}
              </button>
            </div>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <div class="sr-only" aria-live="polite" aria-atomic="true">
        {announcement}
      </div>
    </>
  );
}
