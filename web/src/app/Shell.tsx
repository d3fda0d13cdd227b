import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { t, useLanguage } from '../i18n';
import { api, type AtendeEvent, type Me } from '../lib/api';
import { eventStream, type ConnState } from '../lib/events';
import { formatter } from '../lib/format';
import { apps } from './apps';
import { LanguageSwitch } from './LanguageSwitch';
import { SessionContext, useNow, type Session } from './session';

export function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const lang = useLanguage();
  const [conn, setConn] = useState<ConnState>({ kind: 'connecting' });
  const listeners = useRef(new Set<(e: AtendeEvent) => void>());
  const resyncs = useRef(new Set<() => void>());
  const [path, setPath] = useState(location.pathname);
  // The desktop is the stream's only reader and needs conversation events
  // for its offers, tasks and open tabs only, so the stream is scoped to
  // those. Made here, before the apps' effects run, so that their watches
  // are sent once it connects.
  const [stream] = useState(() => eventStream({ scope: 'own' }));

  useEffect(() => {
    let wasOnline = false;
    stream.start(
      (e) => listeners.current.forEach((f) => f(e)),
      (s) => {
        setConn(s);
        if (s.kind === 'online') {
          if (wasOnline) resyncs.current.forEach((f) => f());
          wasOnline = true;
        }
      },
    );
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => {
      stream.close();
      removeEventListener('popstate', onPop);
    };
  }, []);

  const session = useMemo<Session>(() => {
    const perms = new Set(me.permissions);
    return {
      me,
      fmt: formatter(lang, me.tenant.locale, me.tenant.time_zone),
      can: (p) => perms.has(p),
      onEvent: (f) => {
        listeners.current.add(f);
        return () => void listeners.current.delete(f);
      },
      onResync: (f) => {
        resyncs.current.add(f);
        return () => void resyncs.current.delete(f);
      },
      watch: (id, onWatched) => stream.watch(id, onWatched),
    };
  }, [me, lang]);

  const visible = apps.filter((a) => session.can(a.permission));
  const current = visible.find((a) => path === a.path || path.startsWith(a.path + '/')) ?? (path === '/' ? visible[0] : undefined);
  useEffect(() => {
    if (path === '/' && current) history.replaceState(null, '', current.path);
  }, [path, current]);

  const go = (p: string) => (e: MouseEvent) => {
    e.preventDefault();
    history.pushState(null, '', p);
    setPath(p);
  };

  const logout = async () => {
    try {
      await api('POST', '/auth/logout');
    } finally {
      onLogout();
    }
  };

  const Current = current?.component;
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        {t('shell.skip')}
      </a>
      <header class="topbar">
        <div class="brand" aria-hidden="true">
          <span class="brand-mark" />
          {t('app.name')}
        </div>
        <span class="tenant-name">{me.tenant.name}</span>
        <nav aria-label={t('shell.apps')} class="apps-nav">
          {visible.map((a) => (
            <a key={a.path} href={a.path} onClick={go(a.path)} aria-current={a === current ? 'page' : undefined}>
              {t(a.title)}
            </a>
          ))}
        </nav>
        <div class="topbar-end">
          <ConnBadge conn={conn} />
          <LanguageSwitch userId={me.user.id} />
          <span class="user" title={me.user.email} data-testid="user-name">
            <span class="avatar" aria-hidden="true">
              {initials(me.user.name)}
            </span>
            <span class="sr-only">{t('shell.user', { name: me.user.name })}</span>
            <span aria-hidden="true" class="user-name">
              {me.user.name}
            </span>
          </span>
          <button class="btn btn-ghost" type="button" onClick={logout}>
            {t('shell.logout')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {Current ? <Current /> : <p class="empty">{t('app.not_found')}</p>}
      </main>
    </SessionContext.Provider>
  );
}

function ConnBadge({ conn }: { conn: ConnState }) {
  const now = useNow(conn.kind === 'waiting' ? 500 : 60_000);
  let text = t('conn.connecting');
  if (conn.kind === 'online') text = t('conn.online');
  if (conn.kind === 'waiting') text = t('conn.retry', { seconds: Math.max(0, Math.ceil((conn.until - now) / 1000)) });
  return (
    <span class={`conn conn-${conn.kind}`} role="status" aria-label={`${t('conn.label')}: ${text}`} data-testid="connection">
      <span class="dot" aria-hidden="true" />
      <span class="conn-text">{text}</span>
    </span>
  );
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
}
