import { useEffect, useState } from 'preact/hooks';
import { languageForUser, setLanguage, t, useLanguage } from '../i18n';
import { api, ApiError, setCSRF, type Me } from '../lib/api';
import { Login } from './Login';
import { Shell } from './Shell';

export function App() {
  useLanguage();
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  const enter = (m: Me) => {
    setCSRF(m.csrf_token ?? '');
    setLanguage(languageForUser(m.user.id), m.user.id);
    setMe(m);
  };

  useEffect(() => {
    api<Me>('GET', '/auth/me')
      .then(enter)
      .catch((e) => {
        if (!(e instanceof ApiError && e.status === 401)) console.warn('auth/me', e);
        setMe(null);
      });
  }, []);

  if (me === undefined) {
    return (
      <p class="loading" role="status">
        {t('app.loading')}
      </p>
    );
  }
  if (me === null) return <Login onLogin={enter} />;
  return (
    <Shell
      me={me}
      onLogout={() => {
        setCSRF('');
        setMe(null);
        history.replaceState(null, '', '/');
      }}
    />
  );
}
