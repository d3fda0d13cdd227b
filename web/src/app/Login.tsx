import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { api, ApiError, type Me } from '../lib/api';
import { LanguageSwitch } from './LanguageSwitch';
import { useNow } from './session';

export function Login({ onLogin }: { onLogin: (m: Me) => void }) {
  const [tenant, setTenant] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; detail?: string } | null>(null);
  const [waitUntil, setWaitUntil] = useState(0);
  const now = useNow(waitUntil > Date.now() ? 250 : 60_000);
  const emailRef = useRef<HTMLInputElement>(null);
  useEffect(() => emailRef.current?.focus(), []);

  const wait = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      const me = await api<Me>('POST', '/auth/login', { tenant: tenant.trim() || undefined, email: email.trim(), password });
      onLogin(me);
    } catch (e) {
      if (e instanceof ApiError && e.problem) {
        if (e.problem.retry_after) setWaitUntil(Date.now() + e.problem.retry_after * 1000);
        // Login problems are translated by the server, detail included: a
        // wrong password's detail says so better than its title.
        const p = e.problem;
        if (p.retry_after) setError({ title: p.title });
        else if (e.status === 401 && p.detail) setError({ title: p.detail });
        else setError({ title: p.title, detail: p.detail });
      } else {
        setError({ title: t('error.network') });
      }
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <main class="login-card" aria-labelledby="login-title">
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark" />
          {t('app.name')}
        </div>
        <h1 id="login-title">{t('login.title')}</h1>
        <p class="muted">{t('login.subtitle')}</p>
        <form onSubmit={submit} noValidate={false}>
          <label class="field">
            <span>{t('login.email')}</span>
            <input
              ref={emailRef}
              type="email"
              name="email"
              autocomplete="username"
              required
              value={email}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span>{t('login.password')}</span>
            <input
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </label>
          <div class="field">
            <label for="login-tenant">{t('login.tenant')}</label>
            <input
              id="login-tenant"
              type="text"
              name="tenant"
              autocomplete="organization"
              aria-describedby="tenant-hint"
              value={tenant}
              onInput={(e) => setTenant((e.target as HTMLInputElement).value)}
            />
            <small id="tenant-hint" class="muted">
              {t('login.tenant_hint')}
            </small>
          </div>
          {error && (
            <div class="alert" role="alert" data-testid="login-error">
              <strong>{error.title}</strong>
              {error.detail && <span> {error.detail}</span>}
              {wait > 0 && <div>{t('login.wait', { seconds: wait })}</div>}
            </div>
          )}
          <button class="btn btn-primary btn-block" type="submit" disabled={busy || wait > 0}>
            {busy ? t('login.submitting') : t('login.submit')}
          </button>
        </form>
        <div class="login-footer">
          <LanguageSwitch />
        </div>
      </main>
    </div>
  );
}
