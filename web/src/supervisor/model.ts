// The wallboard's data (GET /api/v1/wallboard and its WebSocket frames) and
// the pure logic around it: the page state in the URL, the agents' filter
// and sort, which alerts are new, and how the tiles fit a TV screen.
import type { AgentStatus, Channel } from '../lib/api';

export type AlertKind = 'service_level' | 'longest_wait' | 'legal_wait';
export type AlertLevel = 'warning' | 'critical';

export interface Alert {
  queue_id?: string;
  kind: AlertKind;
  level: AlertLevel;
  value: number;
  threshold: number;
  since: string;
}

export interface AgentCounts {
  available: number;
  busy: number;
  wrap_up: number;
  away: number;
  offline: number;
}

export interface Figures {
  waiting: number;
  longest_wait_sec: number;
  offered_today: number;
  handled_today: number;
  abandoned_today: number;
  short_abandoned_today: number;
  service_level_today: number | null;
  asa_today_sec: number | null;
  aht_today_sec: number | null;
  ewt_sec: number;
  agents: AgentCounts;
}

export interface QueueView extends Figures {
  id: string;
  name: string;
  channels: Channel[];
  sl_target_pct: number;
  sl_threshold_sec: number;
  alerts: Alert[] | null;
}

export interface TaskView {
  id: string;
  channel: Channel;
  conversation_id?: string;
  queue_id: string;
  accepted_at: string | null;
}

export interface AgentView {
  id: string;
  name: string;
  status: AgentStatus;
  reason_code: string;
  since: string;
  teams: string[] | null;
  queues: string[] | null;
  load: Partial<Record<Channel, number>> | null;
  tasks: TaskView[] | null;
  handled_today: number;
}

export interface Team {
  id: string;
  name: string;
}

export interface Snapshot {
  at: string;
  queues: QueueView[];
  agents: AgentView[];
  totals: Figures;
  teams: Team[];
}

/** A WebSocket message: a snapshot, an alert starting or ending, a broadcast. */
export type Message =
  | ({ type: 'snapshot' } & Snapshot)
  | ({ type: 'alert'; event: 'alert.raised' | 'alert.cleared' } & Alert)
  | { type: 'broadcast'; event: string; id?: string; text: string; from?: string; team_id?: string };

export const channels: Channel[] = ['voice', 'chat', 'email', 'sms', 'social'];
export const statuses: AgentStatus[] = ['available', 'busy', 'wrap_up', 'away', 'offline'];
export type SortKey = 'name' | 'status' | 'time' | 'work' | 'handled';
export const sortKeys: SortKey[] = ['name', 'status', 'time', 'work', 'handled'];

/** What the page shows, kept in the URL so a view can be shared or put on a TV. */
export interface ViewState {
  team: string;
  queue: string;
  channel: Channel | '';
  status: AgentStatus | '';
  q: string;
  sort: SortKey;
  desc: boolean;
  tv: boolean;
}

export function parseView(search: string): ViewState {
  const p = new URLSearchParams(search);
  const ch = p.get('channel') ?? '';
  const st = p.get('status') ?? '';
  const sort = p.get('sort') ?? '';
  return {
    team: p.get('team_id') ?? '',
    queue: p.get('queue_id') ?? '',
    channel: (channels as string[]).includes(ch) ? (ch as Channel) : '',
    status: (statuses as string[]).includes(st) ? (st as AgentStatus) : '',
    q: p.get('q') ?? '',
    sort: (sortKeys as string[]).includes(sort) ? (sort as SortKey) : 'status',
    desc: p.get('desc') === '1',
    tv: p.get('tv') === '1',
  };
}

/** The URL query for a view: only what differs from the defaults. */
export function viewQuery(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.team) p.set('team_id', v.team);
  if (v.queue) p.set('queue_id', v.queue);
  if (v.channel) p.set('channel', v.channel);
  if (v.status) p.set('status', v.status);
  if (v.q) p.set('q', v.q);
  if (v.sort !== 'status') p.set('sort', v.sort);
  if (v.desc) p.set('desc', '1');
  if (v.tv) p.set('tv', '1');
  const s = p.toString();
  return s ? '?' + s : '';
}

/** The server-side selection (the snapshot's and the WebSocket's query). */
export function selectionQuery(v: Pick<ViewState, 'team' | 'queue' | 'channel'>): string {
  const p = new URLSearchParams();
  if (v.team) p.set('team_id', v.team);
  if (v.queue) p.set('queue_id', v.queue);
  if (v.channel) p.set('channel', v.channel);
  const s = p.toString();
  return s ? '?' + s : '';
}

const statusRank: Record<AgentStatus, number> = { available: 0, busy: 1, wrap_up: 2, away: 3, offline: 4 };

/**
 * Offers not yet answered, one channel per offer: the load counts every task
 * offered or assigned to the agent, the task list only the accepted ones.
 */
export function offeredChannels(a: AgentView): Channel[] {
  const out: Channel[] = [];
  for (const ch of channels) {
    const accepted = (a.tasks ?? []).filter((x) => x.channel === ch).length;
    for (let i = accepted; i < (a.load?.[ch] ?? 0); i++) out.push(ch);
  }
  return out;
}

/** Work in hand: the tasks offered or assigned to the agent. */
export function workCount(a: AgentView): number {
  return (a.tasks?.length ?? 0) + offeredChannels(a).length;
}

/** A threshold such as a service level's: 20 -> "20 s", 900 -> "15 min", 14400 -> "4 h". */
export function shortDuration(seconds: number, num: (n: number) => string): string {
  if (seconds < 120) return `${num(seconds)} s`;
  if (seconds < 7200 || seconds % 3600 !== 0) return `${num(Math.round(seconds / 60))} min`;
  return `${num(seconds / 3600)} h`;
}

/** The agents matching the state and name filters, sorted. */
export function visibleAgents(agents: AgentView[], v: Pick<ViewState, 'status' | 'q' | 'sort' | 'desc'>, now: number): AgentView[] {
  const q = fold(v.q.trim());
  const out = agents.filter((a) => (!v.status || a.status === v.status) && (!q || fold(a.name).includes(q)));
  const by = (a: AgentView, b: AgentView): number => {
    switch (v.sort) {
      case 'status':
        return statusRank[a.status] - statusRank[b.status] || Date.parse(a.since) - Date.parse(b.since);
      case 'time':
        return now - Date.parse(a.since) - (now - Date.parse(b.since));
      case 'work':
        return workCount(a) - workCount(b);
      case 'handled':
        return a.handled_today - b.handled_today;
      default:
        return 0;
    }
  };
  out.sort((a, b) => {
    const c = by(a, b);
    return (v.desc ? -c : c) || a.name.localeCompare(b.name);
  });
  return out;
}

/** Lower case without accents, for searching names ("martin" finds "Martín"). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** An alert's identity for announcing it once: a new level is a new alert. */
export function alertKey(queueId: string, a: Pick<Alert, 'kind' | 'level'>): string {
  return `${queueId}/${a.kind}/${a.level}`;
}

/**
 * The alerts of a snapshot that were not active before (by queue, kind and
 * level), and the set of those active now. The first snapshot announces
 * nothing: what was already going on is on the screen, not news.
 */
export function newAlerts(prev: Set<string> | null, queues: QueueView[]): { fresh: { queue: QueueView; alert: Alert }[]; active: Set<string> } {
  const active = new Set<string>();
  const fresh: { queue: QueueView; alert: Alert }[] = [];
  for (const q of queues) {
    for (const a of q.alerts ?? []) {
      const k = alertKey(q.id, a);
      active.add(k);
      if (prev && !prev.has(k)) fresh.push({ queue: q, alert: a });
    }
  }
  return { fresh, active };
}

/** The worst level among alerts, if any. */
export function worst(alerts: Alert[] | null | undefined, kinds?: AlertKind[]): AlertLevel | null {
  let level: AlertLevel | null = null;
  for (const a of alerts ?? []) {
    if (kinds && !kinds.includes(a.kind)) continue;
    if (a.level === 'critical') return 'critical';
    level = 'warning';
  }
  return level;
}

/**
 * The longest wait now: the frame's figure plus the time since the frame
 * (frames come when something changes, not every second), while anything
 * waits.
 */
export function longestWaitNow(q: Pick<Figures, 'waiting' | 'longest_wait_sec'>, frameAt: number, now: number): number {
  if (q.waiting <= 0) return q.longest_wait_sec;
  return q.longest_wait_sec + Math.max(0, Math.floor((now - frameAt) / 1000));
}

/**
 * The grid that shows n tiles as large as possible in a w x h area, tiles
 * being about `aspect` (width / height) wide: the number of columns and rows
 * and the tile's size.
 */
export function fitGrid(n: number, w: number, h: number, aspect = 1.6, gap = 0): { cols: number; rows: number; tileW: number; tileH: number } {
  if (n <= 0 || w <= 0 || h <= 0) return { cols: 1, rows: 1, tileW: Math.max(w, 0), tileH: Math.max(h, 0) };
  let best = { cols: 1, rows: n, tileW: 0, tileH: 0, score: -1 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (w - gap * (cols - 1)) / cols;
    const ch = (h - gap * (rows - 1)) / rows;
    if (cw <= 0 || ch <= 0) continue;
    // The tile is the cell, but a cell far from the aspect wastes space:
    // score by the largest tile of that aspect that fits in the cell.
    const tw = Math.min(cw, ch * aspect);
    const score = tw * (tw / aspect);
    if (score > best.score) best = { cols, rows, tileW: cw, tileH: ch, score };
  }
  return { cols: best.cols, rows: best.rows, tileW: best.tileW, tileH: best.tileH };
}
