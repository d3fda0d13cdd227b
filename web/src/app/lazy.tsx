// An app loaded on first use: its code stays out of the desktop's first load
// (web/scripts/size.mjs measures that load). While it loads a status line
// shows; when it cannot load, the network error.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';

export function lazyApp(load: () => Promise<ComponentType>, loadingClass: string): ComponentType {
  let loaded: ComponentType | null = null;
  return function LazyApp() {
    const [Page, setPage] = useState<ComponentType | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (loaded) return;
      let live = true;
      load()
        .then((c) => {
          loaded = c;
          if (live) setPage(() => c);
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
      <p class={loadingClass} role="status">
        {t('app.loading')}
      </p>
    );
  };
}
