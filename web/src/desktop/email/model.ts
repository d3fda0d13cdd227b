// What an email timeline entry carries (data.email, see docs/email.md) and
// the pure helpers the email views use: quoted-history split, addresses,
// reply recipients, the composer's plain-text part.
import type { TimelineEvent } from '../../lib/api';

export interface Address {
  name?: string;
  address: string;
}
export interface EmailPart {
  media_id: string;
  name: string;
  content_type: string;
  content_id?: string;
  inline: boolean;
  size: number;
}
export interface DSN {
  original_message_id?: string;
  recipient?: string;
  action?: string;
  status?: string;
  diagnostic?: string;
}
export interface EmailData {
  message_id: string;
  in_reply_to?: string[];
  references?: string[];
  from: Address;
  to?: Address[];
  cc?: Address[];
  bcc?: Address[];
  reply_to?: Address[];
  subject: string;
  date?: string;
  html?: string;
  quote_at: number;
  html_quote?: boolean;
  attachments: EmailPart[] | null;
  dsn?: DSN;
  bounce_of?: string;
  warnings?: string[];
  truncated?: boolean;
  unparsable?: string;
  mailbox_id: string;
  raw_media_id: string;
  kind?: string;
}
/** A row of GET /conversations/{id}/emails. */
export interface OutboundMail {
  id: string;
  conversation_id?: string;
  event_id?: string;
  message_id: string;
  recipients: string[];
  kind: string;
  state: 'queued' | 'sending' | 'sent' | 'failed' | 'bounced';
  attempts: number;
  last_error?: string;
  updated_at: string;
}

export function emailOf(e: TimelineEvent): EmailData | null {
  const d = e.data?.email as EmailData | undefined;
  return d && typeof d === 'object' && d.from ? d : null;
}

/** Splits a text body where quoted history starts. quoteAt is a byte offset
 * into the UTF-8 text (as the server computed it), or -1. */
export function splitQuote(text: string, quoteAt: number): [string, string] {
  if (quoteAt < 0) return [text, ''];
  const bytes = new TextEncoder().encode(text);
  if (quoteAt >= bytes.length) return [text, ''];
  const dec = new TextDecoder();
  return [dec.decode(bytes.subarray(0, quoteAt)), dec.decode(bytes.subarray(quoteAt))];
}

/** "Ana <ana@x.es>" or just the address. */
export function showAddress(a: Address): string {
  return a.name && a.name !== a.address ? `${a.name} <${a.address}>` : a.address;
}

const emailRe = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]+$/;

/** The address in "Name <a@b.c>" or "a@b.c", lower-cased; null if invalid. */
export function parseAddress(s: string): string | null {
  let v = s.trim();
  const m = v.match(/<([^>]*)>\s*$/);
  if (m) v = m[1]!.trim();
  v = v.replace(/^mailto:/i, '');
  return emailRe.test(v) ? v.toLowerCase() : null;
}

/** Splits typed text into addresses at commas, semicolons and spaces (but
 * not inside "Name <addr>"). */
export function splitAddresses(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let angle = false;
  for (const ch of s) {
    if (ch === '<') angle = true;
    if (ch === '>') angle = false;
    if (!angle && (ch === ',' || ch === ';' || ch === '\n')) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export type ComposeMode = 'reply' | 'reply_all' | 'forward' | 'new';

/** Who a reply goes to: Reply-To or From; reply-all adds the other To and
 * Cc recipients, without our own mailbox addresses. */
export function replyRecipients(m: EmailData, mode: ComposeMode, own: string[]): { to: string[]; cc: string[] } {
  if (mode === 'forward' || mode === 'new') return { to: [], cc: [] };
  const mine = new Set(own.map((a) => a.toLowerCase()));
  const seen = new Set<string>();
  const take = (list: Address[] | undefined) => {
    const out: string[] = [];
    for (const a of list ?? []) {
      const v = a.address.toLowerCase();
      if (!v || mine.has(v) || seen.has(v)) continue;
      seen.add(v);
      out.push(v);
    }
    return out;
  };
  // For our own outgoing message, "reply" means writing to its recipients again.
  const outgoing = mine.has(m.from.address.toLowerCase());
  const to = outgoing ? take(m.to) : take(m.reply_to?.length ? m.reply_to : [m.from]);
  if (mode !== 'reply_all') return { to, cc: [] };
  return { to: [...to, ...(outgoing ? [] : take(m.to))], cc: take(m.cc) };
}

/** "Re: subject" or "Fwd: subject", without stacking prefixes. */
export function prefixSubject(subject: string, mode: ComposeMode): string {
  const s = subject.trim();
  if (mode === 'reply' || mode === 'reply_all') return /^(re|res|rv|aw):/i.test(s) ? s : `Re: ${s}`;
  if (mode === 'forward') return /^(fwd?|rv|enc):/i.test(s) ? s : `Fwd: ${s}`;
  return s;
}

/** The plain-text part of the composer's HTML: paragraphs and line breaks,
 * list items with "- " or "1. ", links as "text (url)". */
export function htmlToText(root: Node): string {
  const out: string[] = [];
  const walk = (n: Node, list?: { ordered: boolean; i: number }) => {
    if (n.nodeType === 3) {
      out.push((n.textContent ?? '').replace(/\s+/g, ' '));
      return;
    }
    if (n.nodeType !== 1) return;
    const el = n as Element;
    const tag = el.tagName.toLowerCase();
    if (tag === 'br') {
      out.push('\n');
      return;
    }
    const block = ['p', 'div', 'ul', 'ol', 'li', 'blockquote', 'h1', 'h2', 'h3'].includes(tag);
    if (block && out.length && !out[out.length - 1]!.endsWith('\n')) out.push('\n');
    if (tag === 'li' && list) {
      list.i++;
      out.push(list.ordered ? `${list.i}. ` : '- ');
    }
    const inner = tag === 'ul' || tag === 'ol' ? { ordered: tag === 'ol', i: 0 } : list;
    el.childNodes.forEach((c) => walk(c, inner));
    if (tag === 'a') {
      const href = el.getAttribute('href') ?? '';
      if (href && href !== el.textContent) out.push(` (${href})`);
    }
    if (block && !out[out.length - 1]?.endsWith('\n')) out.push('\n');
  };
  root.childNodes.forEach((c) => walk(c));
  return out
    .join('')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A bounce's reason from an outgoing mail's last_error (the DSN as JSON). */
export function bounceReason(last: string | undefined): DSN | null {
  if (!last) return null;
  try {
    const d = JSON.parse(last) as DSN;
    return d && typeof d === 'object' ? d : null;
  } catch {
    return { diagnostic: last };
  }
}
