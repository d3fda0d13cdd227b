// After-contact work: the agent's wrap-up time with a timer, and a button to
// be ready for the next contact (sets the state to available).
import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { useNow, useSession } from '../app/session';

export function WrapUp({ since, onReady }: { since: string; onReady: () => Promise<void> }) {
  const { fmt } = useSession();
  const now = useNow();
  const [busy, setBusy] = useState(false);
  return (
    <section class="wrapup" aria-labelledby="wrapup-title" data-testid="wrap-up">
      <span id="wrapup-title" class="wrapup-title">
        {t('wrapup.title')}
      </span>
      <span class="wrapup-timer" role="timer" aria-label={t('wrapup.timer')}>
        {fmt.duration((now - Date.parse(since)) / 1000)}
      </span>
      <button
        type="button"
        class="btn btn-primary btn-small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onReady();
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('wrapup.ready')}
      </button>
    </section>
  );
}
