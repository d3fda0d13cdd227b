// The Reports app, loaded on first use: its charts and tables stay out of
// the desktop's first load (web/scripts/size.mjs measures that load).
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';

let loaded: ComponentType | null = null;

export function Reports() {
  const [Page, setPage] = useState<ComponentType | null>(() => loaded);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (loaded) return;
    let live = true;
    import('./Reports')
      .then((m) => {
        loaded = m.ReportsPage;
        if (live) setPage(() => m.ReportsPage);
      })
      .catch(() => live && setFailed(true));
    return () => void (live = false);
  }, []);
  if (failed) {
    return (
      <p class="alert" role="alert">
        {t('error.network')}
      </p>
    );
  }
  return Page ? (
    <Page />
  ) : (
    <p class="reports-loading" role="status">
      {t('app.loading')}
    </p>
  );
}
