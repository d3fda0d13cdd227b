// A queue's tile and the selection's totals. Figures with nothing to measure
// yet (no contact answered today) are "—", never 0.
import { useMemo } from 'preact/hooks';
import { useSession } from '../app/session';
import { t, type Key, type Lang } from '../i18n';
import type { Formatter } from '../lib/format';
import { AlertIcon, ChannelIcon, StateIcon } from './icons';
import { longestWaitNow, shortDuration, worst, type Alert, type Figures, type QueueView } from './model';

const none = '—';

export interface Figs {
  fmt: Formatter;
  percent(v: number | null): string;
  seconds(v: number | null): string;
  /** An alert as one sentence: level, queue, what crossed what, since when. */
  alertSentence(queue: string, a: Alert): string;
  /** What an alert says, without the queue. */
  alertText(a: Alert): string;
}

const kindKey: Record<string, Key> = {
  service_level: 'wallboard.alert.service_level',
  longest_wait: 'wallboard.alert.longest_wait',
  legal_wait: 'wallboard.alert.legal_wait',
};

export function useFigures(lang: Lang): Figs {
  const { fmt, me } = useSession();
  return useMemo(() => {
    const base = lang.split('-')[0];
    const locale = me.tenant.locale && me.tenant.locale.split('-')[0] === base ? me.tenant.locale : lang;
    const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
    const percent = (v: number | null) => (v == null ? none : pct.format(v / 100));
    const seconds = (v: number | null) => (v == null ? none : fmt.duration(v));
    const alertText = (a: Alert) => {
      const pctKind = a.kind === 'service_level';
      const v = pctKind ? percent(a.value) : seconds(a.value);
      const th = pctKind ? percent(a.threshold) : seconds(a.threshold);
      return t(kindKey[a.kind] ?? 'wallboard.alert.other', { value: v, threshold: th });
    };
    return {
      fmt,
      percent,
      seconds,
      alertText,
      alertSentence: (queue, a) =>
        t('wallboard.alert.announce', { level: t(a.level === 'critical' ? 'wallboard.alert.critical' : 'wallboard.alert.warning'), queue, text: alertText(a) }),
    };
  }, [fmt, lang, me.tenant.locale]);
}

interface TileProps {
  q: QueueView;
  figs: Figs;
  frameAt: number;
  now: number;
  tv?: boolean;
}

export function QueueTile({ q, figs, frameAt, now, tv }: TileProps) {
  const level = worst(q.alerts);
  const waitLevel = worst(q.alerts, ['longest_wait', 'legal_wait']);
  const slLevel = worst(q.alerts, ['service_level']);
  const sl = q.service_level_today;
  const below = sl != null && sl < q.sl_target_pct;
  const id = `wb-q-${q.id}`;
  return (
    <article class={`wb-tile${level ? ' wb-' + level : ''}${tv ? ' wb-tile-tv' : ''}`} aria-labelledby={id} data-queue={q.id} data-testid="wb-queue">
      <header class="wb-tile-head">
        <h3 id={id} title={q.name}>{q.name}</h3>
        <span class="wb-tile-chans">
          {q.channels.map((c) => (
            <span key={c} class={`wb-chan wb-chan-${c}`}>
              <ChannelIcon channel={c} />
            </span>
          ))}
        </span>
      </header>
      <div class="wb-tile-main">
        <div class="wb-waiting">
          <span class="wb-big" data-testid="wb-waiting">
            {figs.fmt.number(q.waiting)}
          </span>
          <span class="wb-label">{t('wallboard.waiting')}</span>
        </div>
        <dl class="wb-figs">
          <div class={waitLevel ? `wb-fig wb-${waitLevel}` : 'wb-fig'}>
            <dt>{t('wallboard.longest_wait')}</dt>
            <dd data-testid="wb-longest">
              {waitLevel && <AlertIcon level={waitLevel} />}
              {figs.seconds(longestWaitNow(q, frameAt, now))}
            </dd>
          </div>
          <div class="wb-fig">
            <dt>
              <abbr title={t('wallboard.ewt_long')}>{t('wallboard.ewt')}</abbr>
            </dt>
            <dd>{figs.seconds(q.waiting > 0 || q.ewt_sec > 0 ? q.ewt_sec : null)}</dd>
          </div>
          {tv ? (
            <div class={slLevel ? `wb-fig wb-${slLevel}` : below ? 'wb-fig wb-below' : 'wb-fig'}>
              <dt>{t('wallboard.service_level')}</dt>
              <dd data-testid="wb-sl">
                {slLevel && <AlertIcon level={slLevel} />}
                {figs.percent(sl)}
                <span class="wb-fig-note">/ {figs.percent(q.sl_target_pct)}</span>
              </dd>
            </div>
          ) : (
            <div class="wb-fig">
              <dt>
                <abbr title={t('wallboard.asa_long')}>{t('wallboard.asa')}</abbr>
              </dt>
              <dd>{figs.seconds(q.asa_today_sec)}</dd>
            </div>
          )}
          <div class="wb-fig">
            <dt>{t('wallboard.abandoned')}</dt>
            <dd data-testid="wb-abandoned">{figs.fmt.number(q.abandoned_today)}</dd>
          </div>
        </dl>
      </div>
      {!tv && (
        <div class={`wb-sl${below ? ' wb-sl-below' : ''}${slLevel ? ' wb-' + slLevel : ''}`}>
          <div class="wb-sl-line">
            <span class="wb-sl-label">{t('wallboard.service_level')}</span>
            <span class="wb-sl-value" data-testid="wb-sl">
              {slLevel && <AlertIcon level={slLevel} />}
              {figs.percent(sl)}
            </span>
          </div>
          <div class="wb-bar" aria-hidden="true">
            <span class="wb-bar-fill" style={{ width: `${Math.min(100, Math.max(0, sl ?? 0))}%` }} />
            <span class="wb-bar-target" style={{ left: `${Math.min(100, Math.max(0, q.sl_target_pct))}%` }} />
          </div>
          <span class="wb-sl-target">
            {t('wallboard.sl_target', { target: figs.percent(q.sl_target_pct), threshold: shortDuration(q.sl_threshold_sec, figs.fmt.number) })}
            {' · '}
            {t('wallboard.handled_of', { handled: figs.fmt.number(q.handled_today), offered: figs.fmt.number(q.offered_today) })}
          </span>
        </div>
      )}
      <AgentCounts figs={figs} counts={q.agents} />
      {q.alerts && q.alerts.length > 0 && (
        <ul class="wb-alerts" data-testid="wb-alerts">
          {q.alerts.map((a) => (
            <li key={a.kind + a.level} class={`wb-alert wb-${a.level}`} data-kind={a.kind}>
              <AlertIcon level={a.level} />
              <strong>{t(a.level === 'critical' ? 'wallboard.alert.critical' : 'wallboard.alert.warning')}</strong>
              <span>{figs.alertText(a)}</span>
              <span class="wb-alert-since">{t('wallboard.alert.since', { time: figs.fmt.clock(a.since) })}</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function AgentCounts({ figs, counts }: { figs: Figs; counts: Figures['agents'] }) {
  const items: [keyof Figures['agents'], Key][] = [
    ['available', 'state.available'],
    ['busy', 'state.busy'],
    ['wrap_up', 'state.wrap_up'],
    ['away', 'state.away'],
  ];
  return (
    <ul class="wb-counts" aria-label={t('wallboard.agents')}>
      {items.map(([k, label]) => (
        <li key={k} class={`wb-state-${k}`} data-state={k}>
          <StateIcon status={k} />
          <span class="wb-count">{figs.fmt.number(counts[k])}</span>
          <span class="wb-count-label">{t(label)}</span>
        </li>
      ))}
    </ul>
  );
}

export function TotalsStrip({ totals, figs, frameAt, now }: { totals: Figures; figs: Figs; frameAt: number; now: number }) {
  return (
    <dl class="wb-totals" data-testid="wb-totals" aria-label={t('wallboard.totals')}>
      <div>
        <dt>{t('wallboard.waiting')}</dt>
        <dd data-testid="wb-total-waiting">{figs.fmt.number(totals.waiting)}</dd>
      </div>
      <div>
        <dt>{t('wallboard.longest_wait')}</dt>
        <dd>{figs.seconds(longestWaitNow(totals, frameAt, now))}</dd>
      </div>
      <div>
        <dt>{t('wallboard.service_level')}</dt>
        <dd>{figs.percent(totals.service_level_today)}</dd>
      </div>
      <div>
        <dt>{t('wallboard.asa')}</dt>
        <dd>{figs.seconds(totals.asa_today_sec)}</dd>
      </div>
      <div>
        <dt>{t('wallboard.handled')}</dt>
        <dd>{figs.fmt.number(totals.handled_today)}</dd>
      </div>
      <div>
        <dt>{t('wallboard.abandoned')}</dt>
        <dd>{figs.fmt.number(totals.abandoned_today)}</dd>
      </div>
      <div>
        <dt>{t('state.available')}</dt>
        <dd>{figs.fmt.number(totals.agents.available)}</dd>
      </div>
    </dl>
  );
}
