import { useState } from 'preact/hooks';
import { t, type Lang } from '../i18n';
import { api, ApiError, type AgentState, type ReasonCode } from '../lib/api';
import { useNow, useSession } from '../app/session';

// The select's values: "available", "offline", or "away:<reason code>".
function valueOf(s: AgentState | null): string {
  if (!s) return '';
  if (s.status === 'away') return `away:${s.reason_code ?? ''}`;
  if (s.status === 'offline') return 'offline';
  return 'available'; // busy and wrap-up are chosen-available states
}

export function reasonLabel(r: ReasonCode | undefined, code: string, lang: Lang): string {
  return r?.labels[lang] ?? r?.labels.en ?? Object.values(r?.labels ?? {})[0] ?? code;
}

export function StateSelector(props: {
  state: AgentState | null;
  reasons: ReasonCode[];
  lang: Lang;
  onChange: (s: AgentState) => void;
}) {
  const { state, reasons, lang } = props;
  const { me, fmt } = useSession();
  const now = useNow();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const change = async (value: string) => {
    const [status, reason] = value.split(':');
    setBusy(true);
    setError('');
    try {
      const s = await api<AgentState>('PUT', `/users/${me.user.id}/state`, { status, reason_code: reason || undefined });
      props.onChange(s);
    } catch (e) {
      setError(t('state.failed', { reason: e instanceof ApiError ? e.message : t('error.network') }));
    } finally {
      setBusy(false);
    }
  };

  const status = state?.status ?? 'offline';
  const since = state ? Date.parse(state.since) : now;
  const label =
    status === 'away' && state?.reason_code
      ? t('state.away_as', { reason: reasonLabel(reasons.find((r) => r.code === state.reason_code), state.reason_code, lang) })
      : t(`state.${status}`);

  return (
    <section class={`state state-${status}`} aria-labelledby="state-heading">
      <h2 id="state-heading" class="sr-only">
        {t('state.label')}
      </h2>
      <div class="state-now" data-testid="state-now">
        <span class="dot" aria-hidden="true" />
        <span class="state-name">{label}</span>
        <span class="state-timer" role="timer" aria-label={t('state.timer')} data-testid="state-timer">
          {fmt.duration((now - since) / 1000)}
        </span>
      </div>
      <label class="state-select">
        <span class="sr-only">{t('state.label')}</span>
        <select
          value={valueOf(state)}
          disabled={busy || !state}
          data-testid="state-select"
          onChange={(e) => change((e.target as HTMLSelectElement).value)}
        >
          <option value="available">{t('state.available')}</option>
          <optgroup label={t('state.away')}>
            {reasons.map((r) => (
              <option key={r.code} value={`away:${r.code}`}>
                {t('state.away_as', { reason: reasonLabel(r, r.code, lang) })}
              </option>
            ))}
          </optgroup>
          <option value="offline">{t('state.offline')}</option>
        </select>
      </label>
      {state && (
        <span class="muted state-since">{t('state.since', { time: fmt.time(state.since) })}</span>
      )}
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
