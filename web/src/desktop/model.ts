// The workspace's bookkeeping, kept free of the DOM so it can be tested on
// its own: timeline merging, messages waiting for the server, canned-response
// shortcuts, the customer's history grouped by conversation, and typing.
import type { Lang } from '../i18n';
import type { CannedResponse, HistoryItem, Media, TimelineEvent } from '../lib/api';

/** Adds entries to a timeline: ordered by seq, each entry once. */
export function mergeEvents(list: TimelineEvent[], incoming: TimelineEvent[]): TimelineEvent[] {
  if (incoming.length === 0) return list;
  const bySeq = new Map(list.map((e) => [e.seq, e]));
  for (const e of incoming) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A message or note the agent sent that the server has not stored yet. */
export interface Outgoing {
  client_id: string;
  kind: 'message' | 'note';
  body: string;
  attachments: Media[];
  state: 'sending' | 'failed';
  error?: string;
  at: number;
}

/** Drops the outgoing entries the timeline now holds (same client_id). */
export function settle(outbox: Outgoing[], events: TimelineEvent[]): Outgoing[] {
  if (outbox.length === 0) return outbox;
  const stored = new Set(events.filter((e) => e.client_id).map((e) => e.client_id));
  const rest = outbox.filter((o) => !stored.has(o.client_id));
  return rest.length === outbox.length ? outbox : rest;
}

/** A new id for a message, so a resend is recognised as the same message. */
export function newClientID(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

/**
 * The "/shortcut" being typed right before the caret, if any: a slash at the
 * start of the text or after white space, then letters, digits, "_" or "-".
 */
export function slashQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(before);
  if (!m) return null;
  return { start: caret - m[2]!.length - 1, query: m[2]!.toLowerCase() };
}

/**
 * Canned responses matching a search: shortcut prefix first, then a match
 * anywhere in shortcut, title or body; the agent's language (or none) first.
 */
export function filterCanned(list: CannedResponse[], query: string, lang: Lang): CannedResponse[] {
  const q = query.trim().toLowerCase();
  const score = (c: CannedResponse): number => {
    const sc = c.shortcut.toLowerCase();
    let s: number;
    if (!q) s = 1;
    else if (sc.startsWith(q)) s = 3;
    else if (sc.includes(q) || c.title.toLowerCase().includes(q)) s = 2;
    else if (c.body.toLowerCase().includes(q)) s = 1;
    else return 0;
    if (!c.language || c.language === lang) s += 0.5;
    return s;
  };
  return list
    .map((c) => [c, score(c)] as const)
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1] || a[0].shortcut.localeCompare(b[0].shortcut))
    .map(([c]) => c);
}

/** A label in the UI language, else English, else any, else the fallback. */
export function label(labels: Record<string, string> | undefined, lang: Lang, fallback: string): string {
  return labels?.[lang] ?? labels?.en ?? Object.values(labels ?? {})[0] ?? fallback;
}

export interface HistoryGroup {
  conversation: HistoryItem['conversation'];
  events: TimelineEvent[]; // oldest first
}

/**
 * The customer's history (newest first, as the API pages it) as conversations
 * oldest first, each with its entries oldest first; the conversation on
 * screen is left out, since it is shown live below.
 */
export function groupHistory(items: HistoryItem[], current: string): HistoryGroup[] {
  const groups = new Map<string, HistoryGroup>();
  for (const it of items) {
    if (it.conversation.id === current) continue;
    let g = groups.get(it.conversation.id);
    if (!g) {
      g = { conversation: it.conversation, events: [] };
      groups.set(it.conversation.id, g);
    }
    if (!g.events.some((e) => e.id === it.event.id)) g.events.push(it.event);
  }
  const out = [...groups.values()];
  for (const g of out) g.events.sort((a, b) => a.seq - b.seq);
  // Newest conversation last, right above the live one.
  out.sort((a, b) => lastAt(a) - lastAt(b));
  return out;
}

function lastAt(g: HistoryGroup): number {
  return Date.parse(g.events[g.events.length - 1]?.created_at ?? g.conversation.created_at);
}

/**
 * When to tell the other side the agent is typing: at most once every
 * `every` ms while typing, and a stop after `idle` ms without a key or when
 * the message is sent.
 */
export class TypingSignal {
  private lastStart = 0;
  private typing = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private send: (typing: boolean) => void,
    private every = 3000,
    private idle = 4000,
    private now: () => number = Date.now,
  ) {}

  /** A key was typed. */
  input() {
    const t = this.now();
    if (!this.typing || t - this.lastStart >= this.every) {
      this.typing = true;
      this.lastStart = t;
      this.send(true);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), this.idle);
  }

  /** Sent, cleared or left: stop now if a start was announced. */
  stop() {
    clearTimeout(this.timer);
    if (!this.typing) return;
    this.typing = false;
    this.send(false);
  }
}

/** The highest seq of the customer's messages in a timeline (what "read" marks). */
export function lastInboundSeq(events: TimelineEvent[]): number {
  let seq = 0;
  for (const e of events) if (e.kind === 'message' && e.direction === 'in' && e.seq > seq) seq = e.seq;
  return seq;
}
