// Pure pieces of the chat's logic, kept apart from the DOM and the network so
// they can be tested on their own: merging messages, reconnect delays, the
// typing throttle, and the file checks.
import type { Message } from './api';

/**
 * Adds incoming messages to a list sorted by seq, dropping any seq already
 * there: a catch-up after a reconnect may repeat what the client has.
 */
export function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  if (incoming.length === 0) return list;
  const seen = new Set(list.map((m) => m.seq));
  const add = incoming.filter((m) => {
    if (seen.has(m.seq)) return false;
    seen.add(m.seq);
    return true;
  });
  if (add.length === 0) return list;
  return [...list, ...add].sort((a, b) => a.seq - b.seq);
}

/** Delay before reconnect attempt n (0-based): 0.5 s doubling to 30 s, ±25 % jitter. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Typing announcements: at most one "typing" every interval while the
 * visitor types, and one "stopped" after idle without typing (or when the
 * message is sent).
 */
export class TypingThrottle {
  private lastSent = -Infinity;
  private active = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly emit: (typing: boolean) => void,
    private readonly interval = 2000,
    private readonly idle = 3000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The visitor typed a key. */
  input(): void {
    const t = this.now();
    if (!this.active || t - this.lastSent >= this.interval) {
      this.active = true;
      this.lastSent = t;
      this.emit(true);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), this.idle);
  }

  /** The visitor stopped (idle, sent the message, or cleared the box). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.active) return;
    this.active = false;
    this.emit(false);
  }
}

/**
 * Why a file may not be sent, or null when it fits the widget's limits: the
 * same rule as the server's (an exact type from the list, at most max_bytes).
 */
export function fileProblem(file: { type: string; size: number }, uploads: { max_bytes: number; mime_types: string[] | null }):
  'too_large' | 'bad_type' | null {
  if (!uploads.max_bytes || file.size <= 0 || file.size > uploads.max_bytes) return 'too_large';
  const type = (file.type || 'application/octet-stream').split(';')[0].trim().toLowerCase();
  return (uploads.mime_types ?? []).includes(type) ? null : 'bad_type';
}

/** A file size for people: 512 B, 1.5 KB, 3 MB. */
export function formatBytes(n: number, lang: string): string {
  const nf = (v: number) => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return `${nf(n)} B`;
  if (n < 1024 * 1024) return `${nf(n / 1024)} KB`;
  return `${nf(n / 1024 / 1024)} MB`;
}

/** A client id for a message: random, so the server can recognise a resend. */
export function newClientId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Black or white, whichever reads better on a #rrggbb background. */
export function textOn(hex: string): '#000000' | '#ffffff' {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#ffffff';
  const lin = (h: string) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(m[1]) + 0.7152 * lin(m[2]) + 0.0722 * lin(m[3]);
  // Contrast against white (1.05 / (l + 0.05)) versus against black ((l + 0.05) / 0.05).
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? '#ffffff' : '#000000';
}

/** A safe #rrggbb colour from the configuration, or the default. */
export function colour(hex: string | undefined, fallback = '#1f6feb'): string {
  return hex && /^#[0-9a-f]{6}$/i.test(hex) ? hex : fallback;
}

/** A step of the survey at the end of a chat. */
export type SurveyStep = 'csat' | 'nps' | 'thanks';

/**
 * The survey step after 'after' (the chat itself, or a question answered or
 * skipped): CSAT then NPS, each only when the tenant asks it, then thanks.
 */
export function nextSurveyStep(after: 'chat' | 'csat' | 'nps', kinds: readonly string[]): SurveyStep {
  const order = ['csat', 'nps'] as const;
  for (let i = after === 'chat' ? 0 : order.indexOf(after) + 1; i < order.length; i++) {
    if (kinds.includes(order[i])) return order[i];
  }
  return 'thanks';
}

/** Where an NPS score falls: detractor (0-6), passive (7-8), promoter (9-10). */
export function npsBand(score: number): 'detractor' | 'passive' | 'promoter' {
  return score >= 9 ? 'promoter' : score >= 7 ? 'passive' : 'detractor';
}
