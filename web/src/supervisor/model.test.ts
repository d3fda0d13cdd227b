import { describe, expect, it } from 'vitest';
import { fitGrid, fold, longestWaitNow, newAlerts, offeredChannels, parseView, selectionQuery, shortDuration, viewQuery, visibleAgents, workCount, worst, type AgentView, type QueueView } from './model';
import { backoff } from './socket';

const agent = (over: Partial<AgentView>): AgentView => ({
  id: over.name ?? 'x',
  name: 'x',
  status: 'available',
  reason_code: '',
  since: '2026-01-15T10:00:00Z',
  teams: [],
  queues: [],
  load: {},
  tasks: [],
  handled_today: 0,
  ...over,
});

const queue = (id: string, alerts: QueueView['alerts']): QueueView =>
  ({ id, name: 'Queue ' + id, channels: ['chat'], alerts, sl_target_pct: 80, sl_threshold_sec: 20 }) as unknown as QueueView;

describe('view state in the URL', () => {
  it('round-trips every filter and drops defaults', () => {
    const v = parseView('?team_id=t1&queue_id=q1&channel=chat&status=away&q=mar&sort=time&desc=1&tv=1');
    expect(v).toEqual({ team: 't1', queue: 'q1', channel: 'chat', status: 'away', q: 'mar', sort: 'time', desc: true, tv: true });
    expect(parseView(viewQuery(v))).toEqual(v);
    expect(viewQuery(parseView(''))).toBe('');
  });
  it('ignores unknown values', () => {
    const v = parseView('?channel=fax&status=sleeping&sort=shoe');
    expect(v.channel).toBe('');
    expect(v.status).toBe('');
    expect(v.sort).toBe('status');
  });
  it('sends only team, queue and channel to the server', () => {
    expect(selectionQuery(parseView('?team_id=t1&status=away&q=x&tv=1'))).toBe('?team_id=t1');
    expect(selectionQuery(parseView(''))).toBe('');
  });
});

describe('agents', () => {
  const now = Date.parse('2026-01-15T10:10:00Z');
  const list = [
    agent({ name: 'Núria Martín', status: 'away', since: '2026-01-15T10:05:00Z', handled_today: 3 }),
    agent({ name: 'Ashley Johnson', status: 'busy', since: '2026-01-15T09:00:00Z', handled_today: 9, tasks: [{ id: 't', channel: 'chat', queue_id: 'q', accepted_at: null }] }),
    agent({ name: 'Pablo García', status: 'available', since: '2026-01-15T10:09:00Z', handled_today: 1 }),
    agent({ name: 'Tyler Brooks', status: 'available', since: '2026-01-15T10:00:00Z', handled_today: 5 }),
  ];
  const names = (a: AgentView[]) => a.map((x) => x.name);
  it('sorts by state, longest in it first', () => {
    expect(names(visibleAgents(list, { status: '', q: '', sort: 'status', desc: false }, now))).toEqual(['Tyler Brooks', 'Pablo García', 'Ashley Johnson', 'Núria Martín']);
  });
  it('sorts by time, handled and work, either way', () => {
    expect(names(visibleAgents(list, { status: '', q: '', sort: 'time', desc: true }, now))[0]).toBe('Ashley Johnson');
    expect(names(visibleAgents(list, { status: '', q: '', sort: 'handled', desc: false }, now))).toEqual(['Pablo García', 'Núria Martín', 'Tyler Brooks', 'Ashley Johnson']);
    expect(names(visibleAgents(list, { status: '', q: '', sort: 'work', desc: true }, now))[0]).toBe('Ashley Johnson');
  });
  it('filters by state and by name without accents or case', () => {
    expect(names(visibleAgents(list, { status: 'available', q: '', sort: 'name', desc: false }, now))).toEqual(['Pablo García', 'Tyler Brooks']);
    expect(names(visibleAgents(list, { status: '', q: 'NURIA', sort: 'name', desc: false }, now))).toEqual(['Núria Martín']);
    expect(names(visibleAgents(list, { status: '', q: 'garcia', sort: 'name', desc: false }, now))).toEqual(['Pablo García']);
    expect(fold('São')).toBe('sao');
  });
});

describe('alerts', () => {
  const warn = { kind: 'longest_wait' as const, level: 'warning' as const, value: 40, threshold: 30, since: '2026-01-15T10:00:00Z' };
  const crit = { ...warn, level: 'critical' as const };
  it('announces nothing on the first snapshot', () => {
    const r = newAlerts(null, [queue('a', [warn])]);
    expect(r.fresh).toEqual([]);
    expect([...r.active]).toEqual(['a/longest_wait/warning']);
  });
  it('announces a new alert once, and a new level again', () => {
    const first = newAlerts(new Set(), [queue('a', [warn])]);
    expect(first.fresh.map((f) => f.queue.id)).toEqual(['a']);
    const again = newAlerts(first.active, [queue('a', [warn])]);
    expect(again.fresh).toEqual([]);
    const worse = newAlerts(again.active, [queue('a', [crit])]);
    expect(worse.fresh.map((f) => f.alert.level)).toEqual(['critical']);
    const cleared = newAlerts(worse.active, [queue('a', null)]);
    expect(cleared.active.size).toBe(0);
    expect(newAlerts(cleared.active, [queue('a', [crit])]).fresh).toHaveLength(1);
  });
  it('tells the worst level, optionally of some kinds', () => {
    const sl = { ...warn, kind: 'service_level' as const };
    expect(worst([warn, { ...sl, level: 'critical' }])).toBe('critical');
    expect(worst([warn, { ...sl, level: 'critical' }], ['longest_wait'])).toBe('warning');
    expect(worst(null)).toBeNull();
  });
});

describe('ticking between frames', () => {
  it('adds the time since the frame while something waits', () => {
    const at = Date.parse('2026-01-15T10:00:00Z');
    expect(longestWaitNow({ waiting: 2, longest_wait_sec: 30 }, at, at + 4500)).toBe(34);
    expect(longestWaitNow({ waiting: 0, longest_wait_sec: 0 }, at, at + 4500)).toBe(0);
    expect(longestWaitNow({ waiting: 1, longest_wait_sec: 30 }, at, at - 2000)).toBe(30);
  });
});

describe('fitting tiles to a screen', () => {
  it('uses every tile of the area, as large as the aspect allows', () => {
    expect(fitGrid(1, 1920, 700, 1.5)).toMatchObject({ cols: 1, rows: 1 });
    expect(fitGrid(10, 1920, 700, 1.45)).toMatchObject({ cols: 5, rows: 2 });
    expect(fitGrid(10, 3840, 1400, 1.45)).toMatchObject({ cols: 5, rows: 2 });
    const g = fitGrid(7, 1000, 1000, 1, 10);
    expect(g.cols * g.rows).toBeGreaterThanOrEqual(7);
    expect(g.cols).toBe(3);
    expect(g.tileW * g.cols + 10 * (g.cols - 1)).toBeCloseTo(1000);
  });
  it('copes with nothing to show or no room', () => {
    expect(fitGrid(0, 100, 100)).toMatchObject({ cols: 1, rows: 1 });
    expect(fitGrid(3, 0, 0)).toMatchObject({ cols: 1 });
  });
});

describe('reconnecting', () => {
  it('waits 0.5 s doubling to 30 s, with jitter', () => {
    expect(backoff(0, 0.5)).toBe(500);
    expect(backoff(1, 0.5)).toBe(1000);
    expect(backoff(20, 0.5)).toBe(30_000);
    expect(backoff(0, 0)).toBe(375);
    expect(backoff(0, 1)).toBe(625);
  });
});

describe('work in hand', () => {
  it('tells offers apart from accepted tasks', () => {
    const a = agent({ load: { chat: 3, email: 1 }, tasks: [{ id: 't', channel: 'chat', queue_id: 'q', accepted_at: '2026-01-15T10:00:00Z' }] });
    expect(offeredChannels(a)).toEqual(['chat', 'chat', 'email']);
    expect(workCount(a)).toBe(4);
    expect(offeredChannels(agent({ load: null, tasks: null }))).toEqual([]);
  });
  it('writes thresholds short', () => {
    const n = (x: number) => String(x);
    expect(shortDuration(20, n)).toBe('20 s');
    expect(shortDuration(900, n)).toBe('15 min');
    expect(shortDuration(14400, n)).toBe('4 h');
    expect(shortDuration(5400, n)).toBe('90 min');
  });
});
