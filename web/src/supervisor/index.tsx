// The Wallboard app, loaded on first use: its tiles, table and actions stay
// out of the desktop's first load (web/scripts/size.mjs measures that load).
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';

let loaded: ComponentType | null = null;

export function Wallboard() {
  const [Page, setPage] = useState<ComponentType | null>(() => loaded);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (loaded) return;
    let live = true;
    import('./Wallboard')
      .then((m) => {
        loaded = m.WallboardPage;
        if (live) setPage(() => m.WallboardPage);
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
    <p class="wb-loading" role="status">
      {t('app.loading')}
    </p>
  );
}
