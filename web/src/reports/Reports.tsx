// Historical reports for supervisors and planners: queue performance
// (volume, service level against the target, speed of answer, handle time,
// abandons), the channel mix, dispositions and agents' performance and
// state time, from the /reports API. The page state (range, grouping,
// queues, team) lives in the URL so a view can be shared; every report has
// its CSV export.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useSession } from '../app/session';
import { t, useLanguage, type Key } from '../i18n';
import { all, api, errorText, type ReasonCode } from '../lib/api';
import { BarList, palette, TimeChart, type Series, type SeriesStyle } from './charts';
import { localeFor, none, reportFormat, type ReportFormat } from './format';
import { FCRSection, SurveySection, type QualityData } from './Quality';
import {
  allowedGroups,
  groups,
  parseState,
  periodsOf,
  presets,
  reportPath,
  seriesByKey,
  stateQuery,
  sumByPeriod,
  todayIn,
  withRange,
  qualityPath,
  type AgentLine,
  type Breakdown,
  type CountLine,
  type FCRLine,
  type QualityKind,
  type Group,
  type Period,
  type Preset,
  type QueueLine,
  type Report,
  type ReportKind,
  type ReportState,
  type SurveyLine,
} from './model';
import './reports.css';

interface QueueConfig {
  id: string;
  name: string;
  sl_target_pct: number;
  sl_threshold_sec: number;
}
interface Team {
  id: string;
  name: string;
}

interface Data {
  queues: Report<QueueLine>;
  channels: Report<QueueLine>;
  agents: Report<AgentLine>;
  dispositions: Report<CountLine>;
  fcr: QualityData<FCRLine>;
  surveys: QualityData<SurveyLine>;
}

const presetKey: Record<Preset, Key> = {
  today: 'reports.range.today',
  yesterday: 'reports.range.yesterday',
  last7: 'reports.range.last7',
  month: 'reports.range.month',
  custom: 'reports.range.custom',
};
const groupKey: Record<Group, Key> = { interval: 'reports.group.interval', hour: 'reports.group.hour', day: 'reports.group.day' };

export function ReportsPage() {
  const session = useSession();
  const tz = session.me.tenant.time_zone;
  const today = todayIn(tz);
  const [state, setState] = useState<ReportState>(() => parseState(location.search, today));
  const [queues, setQueues] = useState<QueueConfig[]>([]);
  const [teams, setTeams] = useState<Team[]>([]);
  const [reasons, setReasons] = useState<ReasonCode[]>([]);
  const [data, setData] = useState<Data | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const [loadedAt, setLoadedAt] = useState(new Date());
  const seq = useRef(0);

  const lang = useLanguage();
  const f = useMemo(
    () => reportFormat(session.fmt, localeFor(lang, session.me.tenant.locale), tz),
    [session.fmt, lang, session.me.tenant.locale, tz],
  );

  useEffect(() => {
    const q = stateQuery(state);
    if (location.search.slice(1) !== q) history.replaceState(null, '', `${location.pathname}?${q}`);
  }, [state]);

  useEffect(() => {
    const soft = <T,>(p: Promise<T[]>) => p.catch(() => [] as T[]);
    void soft(all<QueueConfig>('/queues')).then((qs) => setQueues(qs.sort((a, b) => a.name.localeCompare(b.name))));
    void soft(all<Team>('/teams')).then((ts) => setTeams(ts.sort((a, b) => a.name.localeCompare(b.name))));
    void soft(all<ReasonCode>('/reason-codes')).then(setReasons);
  }, []);

  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    setError('');
    const get = <T,>(kind: ReportKind) => api<Report<T>>('GET', reportPath(kind, state));
    const quality = <T,>(kind: QualityKind): Promise<QualityData<T>> => {
      const by = (b: Breakdown, total: boolean) => api<Report<T>>('GET', qualityPath(kind, b, state, { total }));
      return Promise.all([by(state.queues.length ? 'queue' : 'channel', false), by('queue', true), by('channel', true), by('agent', true)]).then(
        ([over, byQueue, byChannel, byAgent]) => ({ over, byQueue, byChannel, byAgent }),
      );
    };
    Promise.all([
      get<QueueLine>('queues'),
      get<QueueLine>('channels'),
      get<AgentLine>('agents'),
      get<CountLine>('dispositions'),
      quality<FCRLine>('fcr'),
      quality<SurveyLine>('surveys'),
    ])
      .then(([q, c, a, d, fcr, surveys]) => {
        if (mine !== seq.current) return;
        setData({ queues: q, channels: c, agents: a, dispositions: d, fcr, surveys });
        setLoadedAt(new Date());
      })
      .catch((e) => mine === seq.current && setError(errorText(e, t('error.network'))))
      .finally(() => mine === seq.current && setLoading(false));
  }, [state, reload]);

  const periods = useMemo(() => (data ? periodsOf(data.queues, state.group, loadedAt) : []), [data, state.group, loadedAt]);
  const config = useMemo(() => new Map(queues.map((q) => [q.id, q])), [queues]);

  return (
    <div class="reports" data-testid="reports">
      <div class="reports-head">
        <div>
          <h1>{t('reports.title')}</h1>
          <p class="muted">
            {rangeText(state, f)} · {t('reports.time_zone', { zone: tz })}
          </p>
        </div>
        <button type="button" class="btn" onClick={() => setReload((r) => r + 1)} disabled={loading}>
          {t('reports.refresh')}
        </button>
      </div>
      <Filters state={state} setState={setState} today={today} queues={queues} teams={teams} />
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <p class="sr-only" role="status">
        {loading ? t('reports.loading') : ''}
      </p>
      {!data ? (
        loading && (
          <p class="reports-loading" aria-hidden="true">
            {t('reports.loading')}
          </p>
        )
      ) : (
        <div class={loading ? 'reports-body is-loading' : 'reports-body'} aria-busy={loading}>
          <QueueSection data={data.queues} state={state} periods={periods} f={f} config={config} />
          <div class="reports-pair">
            <ChannelSection data={data.channels} state={state} periods={periods} f={f} />
            <DispositionSection data={data.dispositions} state={state} f={f} />
          </div>
          <AgentSection data={data.agents} state={state} f={f} reasons={reasons} lang={lang} />
          <FCRSection data={data.fcr} state={state} periods={periods} f={f} />
          <SurveySection data={data.surveys} state={state} periods={periods} f={f} />
        </div>
      )}
    </div>
  );
}

function rangeText(s: ReportState, f: ReportFormat): string {
  const d = (date: string) => f.long({ key: date, start: new Date(date + 'T00:00:00Z'), day: true });
  return s.from === s.to ? d(s.from) : `${d(s.from)} – ${d(s.to)}`;
}

function Filters(p: { state: ReportState; setState: (s: ReportState) => void; today: string; queues: QueueConfig[]; teams: Team[] }) {
  const { state: s, setState, today } = p;
  const allowed = allowedGroups(s.from, s.to);
  const chosen = new Set(s.queues);
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setState({ ...s, queues: p.queues.filter((q) => next.has(q.id)).map((q) => q.id) });
  };
  const queueText =
    s.queues.length === 0
      ? t('reports.queues_all')
      : s.queues.length === 1
        ? (p.queues.find((q) => q.id === s.queues[0])?.name ?? t('reports.queues_some', { count: 1 }))
        : t('reports.queues_some', { count: s.queues.length });
  return (
    <form class="report-filters" onSubmit={(e) => e.preventDefault()} aria-label={t('reports.filters')}>
      <label class="filter">
        <span>{t('reports.range')}</span>
        <select value={s.preset} onChange={(e) => setState(withRange(s, (e.target as HTMLSelectElement).value as Preset, today))} data-testid="range">
          {presets.map((pr) => (
            <option key={pr} value={pr}>
              {t(presetKey[pr])}
            </option>
          ))}
        </select>
      </label>
      {s.preset === 'custom' && (
        <>
          <label class="filter">
            <span>{t('reports.from')}</span>
            <input
              type="date"
              value={s.from}
              max={today}
              required
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                if (v) setState(withRange(s, 'custom', today, v, s.to));
              }}
            />
          </label>
          <label class="filter">
            <span>{t('reports.to')}</span>
            <input
              type="date"
              value={s.to}
              max={today}
              required
              onChange={(e) => {
                const v = (e.target as HTMLInputElement).value;
                if (v) setState(withRange(s, 'custom', today, s.from, v));
              }}
            />
          </label>
        </>
      )}
      <label class="filter">
        <span>{t('reports.group')}</span>
        <select value={s.group} onChange={(e) => setState({ ...s, group: (e.target as HTMLSelectElement).value as Group })} data-testid="group">
          {groups.map((g) => (
            <option key={g} value={g} disabled={!allowed.includes(g)}>
              {t(groupKey[g])}
            </option>
          ))}
        </select>
      </label>
      <div class="filter">
        <span id="queue-filter-label">{t('reports.queues')}</span>
        <details class="multi" data-testid="queue-filter">
          <summary aria-describedby="queue-filter-label">{queueText}</summary>
          <fieldset>
            <legend class="sr-only">{t('reports.queues')}</legend>
            <button type="button" class="btn btn-small btn-ghost" onClick={() => setState({ ...s, queues: [] })} disabled={s.queues.length === 0}>
              {t('reports.queues_all')}
            </button>
            {p.queues.map((q) => (
              <label key={q.id} class="check">
                <input type="checkbox" checked={chosen.has(q.id)} onChange={() => toggle(q.id)} />
                {q.name}
              </label>
            ))}
          </fieldset>
        </details>
      </div>
      <label class="filter">
        <span>{t('reports.team')}</span>
        <select value={s.team} onChange={(e) => setState({ ...s, team: (e.target as HTMLSelectElement).value })} data-testid="team">
          <option value="">{t('reports.teams_all')}</option>
          {p.teams.map((tm) => (
            <option key={tm.id} value={tm.id}>
              {tm.name}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

function CsvLink({ kind, state, title }: { kind: ReportKind; state: ReportState; title: string }) {
  return (
    <a
      class="btn btn-small csv"
      href={'/api/v1' + reportPath(kind, state, true)}
      download={`${kind}-${state.from}_${state.to}-${state.group}.csv`}
      aria-label={t('reports.csv_named', { report: title })}
      data-testid={`csv-${kind}`}
    >
      {t('reports.csv')}
    </a>
  );
}

function Section(p: { id: string; title: string; kind: ReportKind; state: ReportState; children: preact.ComponentChildren }) {
  return (
    <section class="panel report-section" aria-labelledby={p.id} data-testid={`section-${p.kind}`}>
      <div class="report-section-head">
        <h2 id={p.id}>{p.title}</h2>
        <CsvLink kind={p.kind} state={p.state} title={p.title} />
      </div>
      {p.children}
    </section>
  );
}

const overall = <T extends { id?: string }>(r: Report<T>) => (r.totals ?? []).find((l) => !l.id);
const perKey = <T extends { id?: string }>(r: Report<T>) => (r.totals ?? []).filter((l) => l.id);

function QueueSection(p: { data: Report<QueueLine>; state: ReportState; periods: Period[]; f: ReportFormat; config: Map<string, QueueConfig> }) {
  const { data, f, periods } = p;
  const title = t('reports.queues_title');
  const total = overall(data);
  const rows = perKey(data).sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  if (!total || total.offered + total.handled + total.abandoned + total.completed === 0) {
    return (
      <Section id="rq" title={title} kind="queues" state={p.state}>
        <p class="empty" data-testid="queues-empty">
          {t('reports.empty_queues')}
        </p>
      </Section>
    );
  }
  const sums = sumByPeriod(data.lines ?? [], periods, p.state.group);
  const cats = periods.map(f.short);
  const longCats = periods.map(f.long);
  const targets = [...new Set(rows.map((r) => p.config.get(r.id!)?.sl_target_pct).filter((v) => v !== undefined))];
  const target = targets.length === 1 ? targets[0]! / 100 : null;
  const count = (v: number) => f.number(v);
  const pct = (v: number) => f.percent(v);
  const offered: Series = { key: 'offered', label: t('reports.offered'), color: palette.blue, values: sums.map((s) => s.counters.offered) };
  const handled: Series = { key: 'handled', label: t('reports.handled'), color: palette.green, values: sums.map((s) => s.counters.handled) };
  const abandoned: Series = {
    key: 'abandoned',
    label: t('reports.abandoned'),
    color: palette.vermillion,
    hatch: true,
    values: sums.map((s) => s.counters.abandoned),
  };
  const sl: Series = { key: 'sl', label: t('reports.service_level'), color: palette.black, marker: 'circle', values: sums.map((s) => s.kpis.service_level) };
  const asa: Series = { key: 'asa', label: t('reports.asa'), color: palette.blue, marker: 'circle', values: sums.map((s) => s.kpis.asa_sec) };
  const aht: Series = { key: 'aht', label: t('reports.aht'), color: palette.orange, marker: 'square', dash: '7 4', values: sums.map((s) => s.kpis.aht_sec) };
  const ab: Series = {
    key: 'abandon_rate',
    label: t('reports.abandon_rate'),
    color: palette.vermillion,
    marker: 'diamond',
    values: sums.map((s) => s.kpis.abandon_rate),
  };
  let busiest = 0;
  sums.forEach((s, i) => s.counters.offered > sums[busiest]!.counters.offered && (busiest = i));
  let worst = -1;
  sums.forEach((s, i) => s.kpis.abandon_rate !== null && (worst < 0 || s.kpis.abandon_rate > sums[worst]!.kpis.abandon_rate!) && (worst = i));
  const targetOf = (id?: string) => {
    const q = id ? p.config.get(id) : undefined;
    return q ? t('reports.target_value', { pct: f.percent(q.sl_target_pct / 100), sec: q.sl_threshold_sec }) : none;
  };
  return (
    <Section id="rq" title={title} kind="queues" state={p.state}>
      <Tiles total={total} f={f} target={target} />
      <div class="charts">
        <TimeChart
          testId="chart-volume"
          title={t('reports.volume_title')}
          summary={
            t('reports.volume_summary', {
              offered: f.number(total.offered),
              handled: f.number(total.handled),
              abandoned: f.number(total.abandoned),
              sl: f.percent(total.service_level),
            }) +
            (sums.length ? ' ' + t('reports.busiest', { period: longCats[busiest]!, count: f.number(sums[busiest]!.counters.offered) }) : '')
          }
          categories={cats}
          longCategories={longCats}
          bars={[offered, handled, abandoned]}
          lines={[sl]}
          left={{ format: count, count: true }}
          right={{ format: pct, max: 1 }}
          target={target !== null ? { value: target, label: t('reports.target', { pct: f.percent(target) }) } : undefined}
        />
        <TimeChart
          testId="chart-speed"
          title={t('reports.speed_title')}
          summary={t('reports.speed_summary', { asa: f.seconds(total.asa_sec), aht: f.seconds(total.aht_sec) })}
          categories={cats}
          longCategories={longCats}
          lines={[asa, aht]}
          left={{ format: (v) => f.seconds(v), count: true }}
        />
        <TimeChart
          testId="chart-abandon"
          title={t('reports.abandon_title')}
          summary={
            t('reports.abandon_summary', { rate: f.percent(total.abandon_rate) }) +
            (worst >= 0 ? ' ' + t('reports.abandon_peak', { rate: f.percent(sums[worst]!.kpis.abandon_rate), period: longCats[worst]! }) : '')
          }
          categories={cats}
          longCategories={longCats}
          lines={[ab]}
          left={{ format: pct }}
        />
      </div>
      <div class="table-wrap">
        <table class="report-table" data-testid="queue-table">
          <caption class="sr-only">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{t('reports.queue')}</th>
              <th scope="col" class="num">{t('reports.offered')}</th>
              <th scope="col" class="num">{t('reports.handled')}</th>
              <th scope="col" class="num">{t('reports.abandoned')}</th>
              <th scope="col" class="num">{t('reports.short_abandoned')}</th>
              <th scope="col" class="num">{t('reports.service_level')}</th>
              <th scope="col" class="num">{t('reports.target_col')}</th>
              <th scope="col" class="num">{t('reports.abandon_rate')}</th>
              <th scope="col" class="num">{t('reports.asa')}</th>
              <th scope="col" class="num">{t('reports.aht')}</th>
              <th scope="col" class="num">{t('reports.avg_abandon')}</th>
              <th scope="col" class="num">{t('reports.longest_wait')}</th>
              <th scope="col" class="num">{t('reports.transferred')}</th>
              <th scope="col" class="num">{t('reports.csat')}</th>
              <th scope="col" class="num">{t('reports.nps')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <QueueRow key={r.id} l={r} f={f} name={r.name || r.id!} target={targetOf(r.id)} />
            ))}
          </tbody>
          <tfoot>
            <QueueRow l={total} f={f} name={t('reports.total')} target={target !== null ? f.percent(target) : none} />
          </tfoot>
        </table>
      </div>
    </Section>
  );
}

function QueueRow({ l, f, name, target }: { l: QueueLine; f: ReportFormat; name: string; target: string }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num" data-col="offered">{f.number(l.offered)}</td>
      <td class="num" data-col="handled">{f.number(l.handled)}</td>
      <td class="num" data-col="abandoned">{f.number(l.abandoned)}</td>
      <td class="num" data-col="short_abandoned">{f.number(l.short_abandoned)}</td>
      <td class="num" data-col="service_level">{f.percent(l.service_level)}</td>
      <td class="num muted-cell">{target}</td>
      <td class="num" data-col="abandon_rate">{f.percent(l.abandon_rate)}</td>
      <td class="num" data-col="asa">{f.seconds(l.asa_sec)}</td>
      <td class="num" data-col="aht">{f.seconds(l.aht_sec)}</td>
      <td class="num">{f.seconds(l.average_abandon_sec)}</td>
      <td class="num">{f.seconds(l.longest_wait_ms / 1000)}</td>
      <td class="num">{f.number(l.transferred)}</td>
      <td class="num">{f.percent(l.csat)}</td>
      <td class="num">{l.nps === null ? none : f.number(Math.round(l.nps))}</td>
    </tr>
  );
}

function Tiles({ total, f, target }: { total: QueueLine; f: ReportFormat; target: number | null }) {
  const tiles: { key: string; label: string; value: string; note?: string; bad?: boolean }[] = [
    { key: 'offered', label: t('reports.offered'), value: f.number(total.offered) },
    { key: 'handled', label: t('reports.handled'), value: f.number(total.handled) },
    { key: 'abandoned', label: t('reports.abandoned'), value: f.number(total.abandoned), note: f.percent(total.abandon_rate) },
    {
      key: 'service_level',
      label: t('reports.service_level'),
      value: f.percent(total.service_level),
      note: target !== null ? t('reports.target', { pct: f.percent(target) }) : undefined,
      bad: target !== null && total.service_level !== null && total.service_level < target,
    },
    { key: 'asa', label: t('reports.asa'), value: f.seconds(total.asa_sec) },
    { key: 'aht', label: t('reports.aht'), value: f.seconds(total.aht_sec) },
  ];
  return (
    <dl class="tiles">
      {tiles.map((x) => (
        <div key={x.key} class={x.bad ? 'tile tile-bad' : 'tile'} data-testid={`kpi-${x.key}`}>
          <dt>{x.label}</dt>
          <dd>
            <span class="tile-value">{x.value}</span>
            {x.note && <span class="tile-note">{x.bad ? `▼ ${x.note}` : x.note}</span>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

const channelStyle: Record<string, Omit<SeriesStyle, 'label' | 'key'>> = {
  voice: { color: palette.blue },
  chat: { color: palette.orange, hatch: true },
  email: { color: palette.green },
  sms: { color: palette.purple, hatch: true },
  social: { color: palette.sky },
};
const channelOrder = ['voice', 'chat', 'email', 'sms', 'social'];

function ChannelSection(p: { data: Report<QueueLine>; state: ReportState; periods: Period[]; f: ReportFormat }) {
  const { data, f, periods } = p;
  const title = t('reports.channels_title');
  const rows = perKey(data).filter((l) => l.offered > 0);
  const total = rows.reduce((a, l) => a + l.offered, 0);
  if (total === 0) {
    return (
      <Section id="rc" title={title} kind="channels" state={p.state}>
        <p class="empty">{t('reports.empty_queues')}</p>
      </Section>
    );
  }
  const by = seriesByKey(data.lines ?? [], periods, p.state.group, (l) => l.offered);
  const label = (ch: string) => (channelOrder.includes(ch) ? t(`channel.${ch}` as Key) : ch);
  const share = (n: number) => f.percent(n / total);
  const chans = [...by.keys()].sort((a, b) => channelOrder.indexOf(a) - channelOrder.indexOf(b));
  const totals = new Map(rows.map((l) => [l.id!, l.offered]));
  const series: Series[] = chans.map((ch) => ({
    key: ch,
    label: `${label(ch)} · ${f.number(totals.get(ch) ?? 0)} (${share(totals.get(ch) ?? 0)})`,
    ...(channelStyle[ch] ?? { color: palette.grey }),
    values: by.get(ch)!,
  }));
  const list = chans.map((ch) => `${label(ch)} ${f.number(totals.get(ch) ?? 0)} (${share(totals.get(ch) ?? 0)})`).join(', ');
  return (
    <Section id="rc" title={title} kind="channels" state={p.state}>
      <TimeChart
        testId="chart-channels"
        title={t('reports.channels_chart')}
        summary={t('reports.channels_summary', { list })}
        categories={periods.map(f.short)}
        longCategories={periods.map(f.long)}
        bars={series}
        stacked
        left={{ format: (v) => f.number(v), count: true }}
        height={220}
      />
    </Section>
  );
}

function DispositionSection(p: { data: Report<CountLine>; state: ReportState; f: ReportFormat }) {
  const { data, f } = p;
  const title = t('reports.dispositions_title');
  const rows = perKey(data)
    .filter((l) => l.count > 0)
    .sort((a, b) => b.count - a.count || (a.name ?? '').localeCompare(b.name ?? ''));
  const total = rows.reduce((a, l) => a + l.count, 0);
  if (total === 0) {
    return (
      <Section id="rd" title={title} kind="dispositions" state={p.state}>
        <p class="empty">{t('reports.empty_dispositions')}</p>
      </Section>
    );
  }
  return (
    <Section id="rd" title={title} kind="dispositions" state={p.state}>
      <BarList
        testId="chart-dispositions"
        title={t('reports.dispositions_chart')}
        summary={t('reports.dispositions_summary', { count: f.number(total), name: rows[0]!.name || rows[0]!.id, n: f.number(rows[0]!.count) })}
        series={[{ key: 'count', label: t('reports.count'), color: palette.blue }]}
        rows={rows.map((l) => ({ label: l.name || l.id, values: [l.count], note: `${f.number(l.count)} (${f.percent(l.count / total)})` }))}
        format={(v) => f.number(v)}
      />
    </Section>
  );
}

const awayColors = [palette.purple, palette.vermillion, palette.sky, palette.grey, palette.black];

function AgentSection(p: { data: Report<AgentLine>; state: ReportState; f: ReportFormat; reasons: ReasonCode[]; lang: string }) {
  const { data, f } = p;
  const title = t('reports.agents_title');
  const rows = perKey(data).sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  const total = overall(data);
  if (!total || rows.length === 0) {
    return (
      <Section id="ra" title={title} kind="agents" state={p.state}>
        <p class="empty">{t('reports.empty_agents')}</p>
      </Section>
    );
  }
  const reasonName = (code: string) => {
    if (!code) return t('reports.away_no_reason');
    const r = p.reasons.find((x) => x.code === code || x.id === code);
    return t('reports.away_reason', { reason: r ? (r.labels[p.lang] ?? r.labels.en ?? r.code) : code });
  };
  const awayOf = (l: AgentLine): Record<string, number> => {
    const by = { ...(l.state_by_reason ?? {}) };
    const listed = Object.values(by).reduce((a, v) => a + v, 0);
    if (l.away_ms > listed) by[''] = (by[''] ?? 0) + l.away_ms - listed;
    return by;
  };
  const codes = [...new Set(rows.flatMap((l) => Object.keys(awayOf(l))))].sort();
  const series: SeriesStyle[] = [
    { key: 'available', label: t('state.available'), color: palette.green },
    { key: 'busy', label: t('state.busy'), color: palette.blue },
    { key: 'wrap_up', label: t('state.wrap_up'), color: palette.orange, hatch: true },
    ...codes.map((c, i) => ({ key: `away-${i}`, label: reasonName(c), color: awayColors[i % awayColors.length]!, hatch: i % 2 === 0 })),
  ];
  const logged = rows.filter((l) => l.logged_in_ms > 0);
  return (
    <Section id="ra" title={title} kind="agents" state={p.state}>
      <div class="table-wrap">
        <table class="report-table" data-testid="agent-table">
          <caption class="sr-only">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{t('reports.agent')}</th>
              <th scope="col" class="num">{t('reports.handled')}</th>
              <th scope="col" class="num">{t('reports.completed')}</th>
              <th scope="col" class="num">{t('reports.aht')}</th>
              <th scope="col" class="num">{t('reports.occupancy')}</th>
              <th scope="col" class="num">{t('reports.utilisation')}</th>
              <th scope="col" class="num">{t('reports.logged_in')}</th>
              <th scope="col" class="num">{t('state.available')}</th>
              <th scope="col" class="num">{t('state.busy')}</th>
              <th scope="col" class="num">{t('state.wrap_up')}</th>
              <th scope="col" class="num">{t('state.away')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <AgentRow key={l.id} l={l} f={f} name={l.name || l.id!} />
            ))}
          </tbody>
          <tfoot>
            <AgentRow l={total} f={f} name={t('reports.total')} />
          </tfoot>
        </table>
      </div>
      {logged.length > 0 && (
        <BarList
          testId="chart-states"
          title={t('reports.states_title')}
          summary={t('reports.states_summary', { count: logged.length, time: f.ms(total.logged_in_ms) })}
          series={series}
          rows={logged.map((l) => {
            const away = awayOf(l);
            return {
              label: l.name || l.id!,
              values: [l.available_ms, l.busy_ms, l.wrap_up_ms, ...codes.map((c) => away[c] ?? 0)],
              note: f.ms(l.logged_in_ms),
            };
          })}
          format={(v) => f.ms(v)}
        />
      )}
    </Section>
  );
}

function AgentRow({ l, f, name }: { l: AgentLine; f: ReportFormat; name: string }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num" data-col="handled">{f.number(l.handled)}</td>
      <td class="num" data-col="completed">{f.number(l.completed)}</td>
      <td class="num">{f.seconds(l.aht_sec)}</td>
      <td class="num">{f.percent(l.occupancy)}</td>
      <td class="num">{f.percent(l.utilisation)}</td>
      <td class="num">{f.ms(l.logged_in_ms)}</td>
      <td class="num">{f.ms(l.available_ms)}</td>
      <td class="num">{f.ms(l.busy_ms)}</td>
      <td class="num">{f.ms(l.wrap_up_ms)}</td>
      <td class="num">{f.ms(l.away_ms)}</td>
    </tr>
  );
}
