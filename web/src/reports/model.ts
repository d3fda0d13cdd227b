// The Reports app's data: the API's report types, the page state kept in the
// URL, date ranges on the tenant's clock, the periods a chart shows, and the
// KPIs of several queues summed per period (computed from the summed
// counters, exactly as internal/report does, never as an average of
// averages).

export interface QueueCounters {
  offered: number;
  handled: number;
  abandoned: number;
  short_abandoned: number;
  answered_in_sl: number;
  abandoned_in_sl: number;
  transferred: number;
  wait_handled_ms: number;
  wait_abandoned_ms: number;
  longest_wait_ms: number;
  completed: number;
  talk_ms: number;
  hold_ms: number;
  wrap_ms: number;
}

export interface QueueKPIs {
  abandon_rate: number | null;
  service_level: number | null;
  asa_sec: number | null;
  aht_sec: number | null;
  average_abandon_sec: number | null;
}

export interface QueueLine extends QueueCounters, QueueKPIs {
  period?: string;
  id?: string;
  name?: string;
  transfer_rate: number | null;
  csat: number | null;
  nps: number | null;
  survey_answers: number;
}

export interface AgentLine {
  period?: string;
  id?: string;
  name?: string;
  handled: number;
  completed: number;
  available_ms: number;
  busy_ms: number;
  wrap_up_ms: number;
  away_ms: number;
  state_by_reason?: Record<string, number>;
  logged_in_ms: number;
  aht_sec: number | null;
  occupancy: number | null;
  utilisation: number | null;
  csat: number | null;
}

export interface CountLine {
  period?: string;
  id: string;
  name?: string;
  count: number;
}

/** A report's JSON answer. lines and totals are null when nothing happened. */
export interface Report<T> {
  from: string;
  to: string;
  group: string;
  time_zone: string;
  lines: T[] | null;
  totals: T[] | null;
}

export type Preset = 'today' | 'yesterday' | 'last7' | 'month' | 'custom';
export type Group = 'interval' | 'hour' | 'day';
export const presets: Preset[] = ['today', 'yesterday', 'last7', 'month', 'custom'];
export const groups: Group[] = ['interval', 'hour', 'day'];

/** What the page shows; all of it lives in the URL's query. */
export interface ReportState {
  preset: Preset;
  from: string; // YYYY-MM-DD, the tenant's clock
  to: string; // inclusive
  group: Group;
  queues: string[];
  team: string;
}

const dateRe = /^\d{4}-\d{2}-\d{2}$/;
const idRe = /^[A-Za-z0-9_-]{1,64}$/;

/** Today's date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  let tz: string | undefined = timeZone || undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    tz = undefined;
  }
  const parts = new Intl.DateTimeFormat('en', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** A date plus n days (calendar arithmetic, no time zone involved). */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + n)).toISOString().slice(0, 10);
}

/** The number of days from..to, both included. */
export function daysIn(from: string, to: string): number {
  return Math.round((Date.parse(to + 'T00:00:00Z') - Date.parse(from + 'T00:00:00Z')) / 86_400_000) + 1;
}

/** The days a preset covers, given today on the tenant's clock. */
export function presetRange(p: Exclude<Preset, 'custom'>, today: string): { from: string; to: string } {
  switch (p) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: addDays(today, -1), to: addDays(today, -1) };
    case 'last7':
      return { from: addDays(today, -6), to: today };
    case 'month':
      return { from: today.slice(0, 8) + '01', to: today };
  }
}

/** The finest groupings worth drawing for a range: 15-minute intervals up to
 * two days (192 bars), hours up to a week, days beyond. */
export function allowedGroups(from: string, to: string): Group[] {
  const n = daysIn(from, to);
  if (n <= 2) return ['interval', 'hour', 'day'];
  if (n <= 7) return ['hour', 'day'];
  return ['day'];
}

function defaultGroup(from: string, to: string): Group {
  return daysIn(from, to) <= 2 ? 'hour' : 'day';
}

/** Reads the page state from a query string, with defaults for whatever is
 * missing or wrong. */
export function parseState(search: string, today: string): ReportState {
  const q = new URLSearchParams(search);
  let preset = (q.get('range') ?? 'today') as Preset;
  if (!presets.includes(preset)) preset = 'today';
  let from: string, to: string;
  if (preset === 'custom') {
    from = q.get('from') ?? '';
    to = q.get('to') ?? '';
    if (!dateRe.test(from)) from = today;
    if (!dateRe.test(to)) to = from;
    if (to < from) [from, to] = [to, from];
  } else {
    ({ from, to } = presetRange(preset, today));
  }
  let group = q.get('group') as Group;
  if (!allowedGroups(from, to).includes(group)) group = defaultGroup(from, to);
  const queues = (q.get('queue') ?? '').split(',').filter((id) => idRe.test(id));
  const team = q.get('team') ?? '';
  return { preset, from, to, group, queues, team: idRe.test(team) ? team : '' };
}

/** The query string for a state (what a shared link carries). */
export function stateQuery(s: ReportState): string {
  const q = new URLSearchParams();
  q.set('range', s.preset);
  if (s.preset === 'custom') {
    q.set('from', s.from);
    q.set('to', s.to);
  }
  q.set('group', s.group);
  if (s.queues.length) q.set('queue', s.queues.join(','));
  if (s.team) q.set('team', s.team);
  return q.toString();
}

/** Moves to another preset or custom range, keeping the grouping when it
 * still makes sense. */
export function withRange(s: ReportState, preset: Preset, today: string, from?: string, to?: string): ReportState {
  let r: { from: string; to: string };
  if (preset === 'custom') {
    r = { from: from ?? s.from, to: to ?? s.to };
    if (r.to < r.from) r = { from: r.to, to: r.from };
  } else {
    r = presetRange(preset, today);
  }
  const group = allowedGroups(r.from, r.to).includes(s.group) ? s.group : defaultGroup(r.from, r.to);
  return { ...s, preset, ...r, group };
}

export type ReportKind = 'queues' | 'channels' | 'agents' | 'dispositions';

/** The API path of a report for a state (format=csv for the export). */
export function reportPath(kind: ReportKind, s: ReportState, csv = false): string {
  const q = new URLSearchParams({ from: s.from, to: s.to, group: s.group });
  if (kind === 'queues' && s.queues.length) q.set('queue_id', s.queues.join(','));
  if (kind === 'agents' && s.team) q.set('team_id', s.team);
  if (csv) q.set('format', 'csv');
  return `/reports/${kind}?${q}`;
}

/** One period of a chart: its key and start. Days are keyed by their date
 * on the tenant's clock, hours and intervals by their start instant. */
export interface Period {
  key: string;
  /** The start: an instant for hours and intervals; for days, midnight UTC
   * of that date (to be formatted in UTC). */
  start: Date;
  day: boolean;
}

/** Every period of a report's range, up to now: the chart shows the shape
 * of the day, empty periods included, not only those with traffic. */
export function periodsOf(r: Pick<Report<unknown>, 'from' | 'to'>, group: Group, now: Date = new Date()): Period[] {
  const out: Period[] = [];
  if (group === 'day') {
    const last = r.to.slice(0, 10);
    // r.to is exclusive: midnight after the last day.
    for (let d = r.from.slice(0, 10); d < last; d = addDays(d, 1)) {
      const start = new Date(d + 'T00:00:00Z');
      out.push({ key: d, start, day: true });
    }
    return out;
  }
  const step = group === 'hour' ? 3_600_000 : 900_000;
  const end = Math.min(Date.parse(r.to), now.getTime());
  for (let t = Date.parse(r.from); t < end && out.length < 5000; t += step) {
    out.push({ key: String(t), start: new Date(t), day: false });
  }
  return out;
}

/** The period key of a report line. */
export function periodKey(period: string, group: Group): string {
  return group === 'day' ? period.slice(0, 10) : String(Date.parse(period));
}

const counterKeys: (keyof QueueCounters)[] = [
  'offered',
  'handled',
  'abandoned',
  'short_abandoned',
  'answered_in_sl',
  'abandoned_in_sl',
  'transferred',
  'wait_handled_ms',
  'wait_abandoned_ms',
  'completed',
  'talk_ms',
  'hold_ms',
  'wrap_ms',
];

export function emptyCounters(): QueueCounters {
  const c = { longest_wait_ms: 0 } as QueueCounters;
  for (const k of counterKeys) c[k] = 0;
  return c;
}

/** Sums counters; the longest wait takes the maximum. */
export function addCounters(into: QueueCounters, c: QueueCounters): QueueCounters {
  for (const k of counterKeys) into[k] += c[k] ?? 0;
  into.longest_wait_ms = Math.max(into.longest_wait_ms, c.longest_wait_ms ?? 0);
  return into;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** The KPIs of summed counters, as internal/report/kpi.go computes them; a
 * KPI with nothing to measure is null. */
export function kpis(c: QueueCounters): QueueKPIs {
  const counted = c.offered - c.short_abandoned;
  return {
    abandon_rate: ratio(c.abandoned - c.short_abandoned, counted),
    service_level: ratio(c.answered_in_sl, counted),
    asa_sec: c.handled > 0 ? c.wait_handled_ms / c.handled / 1000 : null,
    aht_sec: c.completed > 0 ? (c.talk_ms + c.hold_ms + c.wrap_ms) / c.completed / 1000 : null,
    average_abandon_sec: c.abandoned > 0 ? c.wait_abandoned_ms / c.abandoned / 1000 : null,
  };
}

export interface PeriodFigures {
  counters: QueueCounters;
  kpis: QueueKPIs;
}

/** The queue lines of every key summed per period, in the periods' order. */
export function sumByPeriod(lines: QueueLine[], periods: Period[], group: Group): PeriodFigures[] {
  const index = new Map(periods.map((p, i) => [p.key, i]));
  const sums = periods.map(() => emptyCounters());
  for (const l of lines) {
    const i = index.get(periodKey(l.period ?? '', group));
    if (i !== undefined) addCounters(sums[i]!, l);
  }
  return sums.map((c) => ({ counters: c, kpis: kpis(c) }));
}

/** Per period and key: a value of each line (e.g. offered per channel). */
export function seriesByKey<T extends { period?: string; id?: string }>(
  lines: T[],
  periods: Period[],
  group: Group,
  value: (l: T) => number,
): Map<string, number[]> {
  const index = new Map(periods.map((p, i) => [p.key, i]));
  const out = new Map<string, number[]>();
  for (const l of lines) {
    const i = index.get(periodKey(l.period ?? '', group));
    if (i === undefined) continue;
    const id = l.id ?? '';
    let s = out.get(id);
    if (!s) out.set(id, (s = periods.map(() => 0)));
    s[i]! += value(l);
  }
  return out;
}

/** A round upper bound for an axis and its ticks: 0, step, 2·step, ... */
export function niceScale(max: number, ticks = 4): { max: number; ticks: number[] } {
  if (!(max > 0)) return { max: 1, ticks: [0, 0.25, 0.5, 0.75, 1].map((v) => v * 1) };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const top = Math.ceil(max / step - 1e-9) * step;
  const out: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) out.push(Number(v.toPrecision(12)));
  return { max: top, ticks: out };
}

/** A scale for whole numbers (counts): integer steps only. */
export function countScale(max: number): { max: number; ticks: number[] } {
  if (max <= 4) {
    const top = Math.max(1, Math.ceil(max));
    return { max: top, ticks: Array.from({ length: top + 1 }, (_, i) => i) };
  }
  return niceScale(max);
}

// ---- first-contact resolution and surveys ----

export interface FCRLine {
  period?: string;
  id?: string;
  name?: string;
  resolved: number;
  first_contact: number;
  repeated: number;
  fcr: number | null;
  /** Some resolutions are less than the window (7 days) old: a repeat
   * contact can still lower the FCR. */
  provisional: boolean;
}

export interface SurveyCounters {
  csat_answers: number;
  csat_satisfied: number;
  csat_score_sum: number;
  nps_answers: number;
  nps_promoters: number;
  nps_detractors: number;
}

export interface SurveyLine extends SurveyCounters {
  period?: string;
  id?: string;
  name?: string;
  csat: number | null;
  average_csat: number | null;
  nps: number | null;
  nps_passives: number;
}

export type QualityKind = 'fcr' | 'surveys';
export type Breakdown = 'queue' | 'channel' | 'agent';
export const breakdowns: Breakdown[] = ['queue', 'channel', 'agent'];

/** The API path of the FCR or survey report broken down by queue, channel
 * or agent; the queue filter applies to the queue breakdown. total: one
 * line per key for the whole range (the breakdown tables). */
export function qualityPath(kind: QualityKind, by: Breakdown, s: ReportState, opts: { csv?: boolean; total?: boolean } = {}): string {
  const q = new URLSearchParams({ from: s.from, to: s.to, group: opts.total ? 'total' : s.group, by });
  if (by === 'queue' && s.queues.length) q.set('id', s.queues.join(','));
  if (opts.csv) q.set('format', 'csv');
  return `/reports/${kind}?${q}`;
}

export interface FCRFigures {
  resolved: number;
  repeated: number;
  first_contact: number;
  fcr: number | null;
}

/** FCR lines summed per period: FCR from the summed counts. */
export function fcrByPeriod(lines: FCRLine[], periods: Period[], group: Group): FCRFigures[] {
  const index = new Map(periods.map((p, i) => [p.key, i]));
  const sums = periods.map(() => ({ resolved: 0, repeated: 0 }));
  for (const l of lines) {
    const i = index.get(periodKey(l.period ?? '', group));
    if (i === undefined) continue;
    sums[i]!.resolved += l.resolved;
    sums[i]!.repeated += l.repeated;
  }
  return sums.map((s) => ({ ...s, first_contact: s.resolved - s.repeated, fcr: ratio(s.resolved - s.repeated, s.resolved) }));
}

export interface SurveyFigures extends SurveyCounters {
  csat: number | null;
  average_csat: number | null;
  nps: number | null;
  nps_passives: number;
}

/** The survey KPIs of summed counters, as internal/report/kpi.go computes
 * them: CSAT is the share of 4-5 answers, NPS % promoters − % detractors. */
export function surveyKPIs(c: SurveyCounters): SurveyFigures {
  return {
    ...c,
    csat: ratio(c.csat_satisfied, c.csat_answers),
    average_csat: ratio(c.csat_score_sum, c.csat_answers),
    nps: c.nps_answers > 0 ? (100 * (c.nps_promoters - c.nps_detractors)) / c.nps_answers : null,
    nps_passives: c.nps_answers - c.nps_promoters - c.nps_detractors,
  };
}

const surveyKeys: (keyof SurveyCounters)[] = ['csat_answers', 'csat_satisfied', 'csat_score_sum', 'nps_answers', 'nps_promoters', 'nps_detractors'];

/** Survey lines summed per period. */
export function surveysByPeriod(lines: SurveyLine[], periods: Period[], group: Group): SurveyFigures[] {
  const index = new Map(periods.map((p, i) => [p.key, i]));
  const sums = periods.map(() => Object.fromEntries(surveyKeys.map((k) => [k, 0])) as unknown as SurveyCounters);
  for (const l of lines) {
    const i = index.get(periodKey(l.period ?? '', group));
    if (i === undefined) continue;
    for (const k of surveyKeys) sums[i]![k] += l[k] ?? 0;
  }
  return sums.map(surveyKPIs);
}
