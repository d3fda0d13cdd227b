import { describe, expect, it } from 'vitest';
import { reportFormat } from './format';
import { formatter } from '../lib/format';
import {
  addDays,
  allowedGroups,
  countScale,
  emptyCounters,
  fcrByPeriod,
  kpis,
  niceScale,
  parseState,
  periodsOf,
  presetRange,
  qualityPath,
  reportPath,
  seriesByKey,
  stateQuery,
  sumByPeriod,
  surveyKPIs,
  surveysByPeriod,
  todayIn,
  withRange,
  type FCRLine,
  type QueueLine,
  type SurveyLine,
} from './model';

const line = (period: string, id: string, c: Partial<QueueLine>): QueueLine =>
  ({ ...emptyCounters(), period, id, ...c }) as QueueLine;

describe('date ranges on the tenant clock', () => {
  it('takes today in the tenant time zone, not the browser one', () => {
    const at = new Date('2026-03-01T23:30:00Z');
    expect(todayIn('Europe/Madrid', at)).toBe('2026-03-02');
    expect(todayIn('America/Sao_Paulo', at)).toBe('2026-03-01');
  });
  it('computes the presets', () => {
    expect(presetRange('today', '2026-03-01')).toEqual({ from: '2026-03-01', to: '2026-03-01' });
    expect(presetRange('yesterday', '2026-03-01')).toEqual({ from: '2026-02-28', to: '2026-02-28' });
    expect(presetRange('last7', '2026-03-03')).toEqual({ from: '2026-02-25', to: '2026-03-03' });
    expect(presetRange('month', '2026-03-17')).toEqual({ from: '2026-03-01', to: '2026-03-17' });
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });
  it('offers only groupings that stay readable', () => {
    expect(allowedGroups('2026-03-01', '2026-03-02')).toEqual(['interval', 'hour', 'day']);
    expect(allowedGroups('2026-03-01', '2026-03-07')).toEqual(['hour', 'day']);
    expect(allowedGroups('2026-03-01', '2026-03-31')).toEqual(['day']);
  });
});

describe('page state in the URL', () => {
  it('round-trips through the query string', () => {
    const s = parseState('?range=custom&from=2026-02-01&to=2026-02-10&group=day&queue=q1,q2&team=t1', '2026-03-01');
    expect(s).toEqual({ preset: 'custom', from: '2026-02-01', to: '2026-02-10', group: 'day', queues: ['q1', 'q2'], team: 't1' });
    expect(parseState('?' + stateQuery(s), '2026-03-01')).toEqual(s);
  });
  it('falls back to defaults for missing or wrong values', () => {
    expect(parseState('', '2026-03-01')).toEqual({ preset: 'today', from: '2026-03-01', to: '2026-03-01', group: 'hour', queues: [], team: '' });
    const s = parseState('?range=last7&group=interval&queue=<x>,ok&team=a b', '2026-03-07');
    expect(s.group).toBe('day'); // 15-minute bars over a week: too many
    expect(s.queues).toEqual(['ok']);
    expect(s.team).toBe('');
    expect(parseState('?range=custom&from=2026-02-10&to=2026-02-01', '2026-03-01')).toMatchObject({ from: '2026-02-01', to: '2026-02-10' });
  });
  it('keeps the grouping across ranges only while it is allowed', () => {
    const s = parseState('?range=today&group=interval', '2026-03-07');
    expect(withRange(s, 'yesterday', '2026-03-07').group).toBe('interval');
    expect(withRange(s, 'month', '2026-03-07')).toMatchObject({ from: '2026-03-01', to: '2026-03-07', group: 'day' });
  });
  it('builds the API paths, CSV included', () => {
    const s = parseState('?range=today&queue=q1,q2&team=t1', '2026-03-01');
    expect(reportPath('queues', s)).toBe('/reports/queues?from=2026-03-01&to=2026-03-01&group=hour&queue_id=q1%2Cq2');
    expect(reportPath('agents', s, true)).toBe('/reports/agents?from=2026-03-01&to=2026-03-01&group=hour&team_id=t1&format=csv');
    expect(reportPath('channels', s)).not.toContain('queue_id');
  });
});

describe('periods', () => {
  const day = { from: '2026-03-29T00:00:00+01:00', to: '2026-03-30T00:00:00+02:00' }; // Madrid, DST starts
  it('lists every hour of a day, the short DST day included, up to now', () => {
    expect(periodsOf(day, 'hour', new Date('2026-04-01T00:00:00Z'))).toHaveLength(23);
    expect(periodsOf(day, 'interval', new Date('2026-04-01T00:00:00Z'))).toHaveLength(92);
    expect(periodsOf(day, 'hour', new Date('2026-03-29T01:30:00Z'))).toHaveLength(3); // 00:00, 01:00, 03:00 local
  });
  it('lists days by their date on the tenant clock', () => {
    const ps = periodsOf({ from: '2026-02-27T00:00:00-03:00', to: '2026-03-02T00:00:00-03:00' }, 'day');
    expect(ps.map((p) => p.key)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });
  it('sums queues per period and computes the KPIs from the sums', () => {
    const ps = periodsOf({ from: '2026-03-02T00:00:00+01:00', to: '2026-03-03T00:00:00+01:00' }, 'hour', new Date('2026-03-03T00:00:00Z'));
    const lines = [
      line('2026-03-02T09:00:00+01:00', 'a', { offered: 10, handled: 8, abandoned: 2, short_abandoned: 1, answered_in_sl: 6, wait_handled_ms: 80_000 }),
      line('2026-03-02T09:00:00+01:00', 'b', { offered: 10, handled: 10, answered_in_sl: 9, wait_handled_ms: 20_000, completed: 4, talk_ms: 400_000 }),
    ];
    const sums = sumByPeriod(lines, ps, 'hour');
    const nine = sums[9]!;
    expect(nine.counters.offered).toBe(20);
    // (6 + 9) / (20 − 1), not the average of 6/9 and 9/10.
    expect(nine.kpis.service_level).toBeCloseTo(15 / 19);
    expect(nine.kpis.abandon_rate).toBeCloseTo(1 / 19);
    expect(nine.kpis.asa_sec).toBeCloseTo(100 / 18);
    expect(nine.kpis.aht_sec).toBe(100);
    // Nothing to measure: null, never 0 %.
    expect(sums[8]!.kpis).toEqual({ abandon_rate: null, service_level: null, asa_sec: null, aht_sec: null, average_abandon_sec: null });
    const by = seriesByKey(lines, ps, 'hour', (l) => l.offered);
    expect(by.get('a')![9]).toBe(10);
    expect(by.get('b')![10]).toBe(0);
  });
  it('matches the KPI definitions of internal/report', () => {
    expect(kpis({ ...emptyCounters(), offered: 4, short_abandoned: 4, abandoned: 4 })).toMatchObject({ service_level: null, abandon_rate: null });
    expect(kpis({ ...emptyCounters(), offered: 5, abandoned: 5, wait_abandoned_ms: 50_000 })).toMatchObject({
      service_level: 0,
      abandon_rate: 1,
      average_abandon_sec: 10,
    });
  });
});

describe('scales and formats', () => {
  it('rounds axes up to readable steps', () => {
    expect(niceScale(87)).toEqual({ max: 100, ticks: [0, 25, 50, 75, 100] });
    expect(niceScale(0.42).max).toBeCloseTo(0.6);
    expect(countScale(3)).toEqual({ max: 3, ticks: [0, 1, 2, 3] });
    expect(countScale(0)).toEqual({ max: 1, ticks: [0, 1] });
  });
  it('shows null KPIs as a dash and periods in the tenant zone', () => {
    const f = reportFormat(formatter('es', 'es-ES', 'Europe/Madrid'), 'es-ES', 'Europe/Madrid');
    expect(f.percent(null)).toBe('—');
    const sp = (v: string) => v.replace(/\s/g, ' ');
    expect(sp(f.percent(0))).toBe('0 %');
    expect(sp(f.percent(0.8))).toBe('80 %');
    expect(f.seconds(null)).toBe('—');
    expect(f.seconds(75.4)).toBe('1:15');
    expect(f.short({ key: '', start: new Date('2026-03-02T08:15:00Z'), day: false })).toBe('09:15');
    expect(f.short({ key: '2026-03-02', start: new Date('2026-03-02T00:00:00Z'), day: true })).toBe('2 mar');
  });
});

describe('first-contact resolution and surveys', () => {
  const periods = periodsOf({ from: '2026-03-10T00:00:00+01:00', to: '2026-03-12T00:00:00+01:00' }, 'day');
  it('sums FCR per period and derives it from the sums, not from the lines\' rates', () => {
    const f = (period: string, id: string, resolved: number, repeated: number): FCRLine =>
      ({ period, id, resolved, repeated, first_contact: resolved - repeated, fcr: null, provisional: false });
    const sums = fcrByPeriod(
      [f('2026-03-10T00:00:00+01:00', 'chat', 8, 2), f('2026-03-10T00:00:00+01:00', 'email', 2, 2), f('2026-03-11T00:00:00+01:00', 'chat', 0, 0)],
      periods,
      'day',
    );
    // (6 + 0) / (8 + 2) = 60 %, not the mean of 75 % and 0 %.
    expect(sums[0]).toEqual({ resolved: 10, repeated: 4, first_contact: 6, fcr: 0.6 });
    expect(sums[1]!.fcr).toBeNull();
  });
  it('computes CSAT, the average and NPS as REFERENCE.md defines them', () => {
    // CSAT answers 5, 4, 3, 1: 2 of 4 satisfied, mean 13/4. NPS answers
    // 10, 9, 8, 6, 0: (2 − 2) / 5 = 0, one passive.
    const k = surveyKPIs({ csat_answers: 4, csat_satisfied: 2, csat_score_sum: 13, nps_answers: 5, nps_promoters: 2, nps_detractors: 2 });
    expect(k.csat).toBe(0.5);
    expect(k.average_csat).toBe(3.25);
    expect(k.nps).toBe(0);
    expect(k.nps_passives).toBe(1);
    expect(surveyKPIs({ csat_answers: 0, csat_satisfied: 0, csat_score_sum: 0, nps_answers: 1, nps_promoters: 0, nps_detractors: 1 })).toMatchObject({
      csat: null,
      nps: -100,
    });
    const s = (period: string, promoters: number): SurveyLine =>
      ({ period, id: 'chat', csat_answers: 0, csat_satisfied: 0, csat_score_sum: 0, nps_answers: 2, nps_promoters: promoters, nps_detractors: 0 }) as SurveyLine;
    const sums = surveysByPeriod([s('2026-03-10T00:00:00+01:00', 2), s('2026-03-10T00:00:00+01:00', 0)], periods, 'day');
    expect(sums[0]).toMatchObject({ nps_answers: 4, nps_promoters: 2, nps_passives: 2, nps: 50 });
    expect(sums[1]!.nps).toBeNull();
  });
  it('builds the report paths with the breakdown and the queue filter', () => {
    const st = parseState('range=custom&from=2026-03-10&to=2026-03-11&group=hour&queue=q1,q2', '2026-03-20');
    expect(qualityPath('fcr', 'queue', st)).toBe('/reports/fcr?from=2026-03-10&to=2026-03-11&group=hour&by=queue&id=q1%2Cq2');
    expect(qualityPath('surveys', 'agent', st, { total: true, csv: true })).toBe('/reports/surveys?from=2026-03-10&to=2026-03-11&group=total&by=agent&format=csv');
  });
});
