import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CannedResponse, HistoryItem, TimelineEvent } from '../lib/api';
import { filterCanned, groupHistory, label, lastInboundSeq, mergeEvents, settle, slashQuery, TypingSignal, type Outgoing } from './model';

const ev = (seq: number, extra: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id: `e${seq}`,
  conversation_id: 'c1',
  seq,
  kind: 'message',
  author_kind: 'contact',
  created_at: new Date(Date.UTC(2026, 0, 1, 10, 0, seq)).toISOString(),
  ...extra,
});

describe('mergeEvents', () => {
  it('orders by seq and keeps each entry once', () => {
    const got = mergeEvents([ev(1), ev(3)], [ev(2), ev(3, { body: 'again' })]);
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(got[2]!.body).toBe('again');
  });
});

describe('settle', () => {
  const out = (client_id: string): Outgoing => ({ client_id, kind: 'message', body: 'x', attachments: [], state: 'sending', at: 0 });
  it('drops what the timeline stored and keeps the rest', () => {
    const box = [out('a'), out('b')];
    expect(settle(box, [ev(1, { client_id: 'a' })]).map((o) => o.client_id)).toEqual(['b']);
  });
  it('returns the same list when nothing settled', () => {
    const box = [out('a')];
    expect(settle(box, [ev(1)])).toBe(box);
  });
});

describe('slashQuery', () => {
  it('finds a shortcut at the start or after a space', () => {
    expect(slashQuery('/gre', 4)).toEqual({ start: 0, query: 'gre' });
    expect(slashQuery('hi /Bye', 7)).toEqual({ start: 3, query: 'bye' });
    expect(slashQuery('/', 1)).toEqual({ start: 0, query: '' });
  });
  it('ignores slashes inside words and text after the caret', () => {
    expect(slashQuery('and/or', 6)).toBeNull();
    expect(slashQuery('see http://x', 12)).toBeNull();
    expect(slashQuery('/greet now', 10)).toBeNull();
  });
});

describe('filterCanned', () => {
  const c = (shortcut: string, title: string, body: string, language?: string): CannedResponse => ({
    id: shortcut + (language ?? ''),
    scope: 'tenant',
    shortcut,
    title,
    body,
    language,
  });
  const list = [c('bye', 'Goodbye', 'Thanks for contacting us'), c('greet', 'Greeting', 'Hello {{contact.first_name}}', 'en'), c('greet', 'Saludo', 'Hola', 'es'), c('refund', 'Refunds', 'We greet every refund')];
  it('puts shortcut prefixes first and the agent language before others', () => {
    expect(filterCanned(list, 'gre', 'es').map((x) => x.id)).toEqual(['greetes', 'greeten', 'refund']);
  });
  it('searches titles and bodies', () => {
    expect(filterCanned(list, 'thanks', 'en').map((x) => x.shortcut)).toEqual(['bye']);
    expect(filterCanned(list, 'nothing-like-it', 'en')).toEqual([]);
  });
});

describe('label', () => {
  it('falls back from the language to English to anything', () => {
    expect(label({ es: 'Hola', en: 'Hi' }, 'es', '?')).toBe('Hola');
    expect(label({ es: 'Hola', en: 'Hi' }, 'pt-BR', '?')).toBe('Hi');
    expect(label({ es: 'Hola' }, 'pt-BR', '?')).toBe('Hola');
    expect(label(undefined, 'en', 'code')).toBe('code');
  });
});

describe('groupHistory', () => {
  const conv = (id: string) => ({ id, protocol: `P-${id}`, channel: 'email' as const, subject: '', status: 'resolved', created_at: '2025-01-01T00:00:00Z' });
  const item = (convId: string, seq: number, at: string): HistoryItem => ({ conversation: conv(convId), event: { ...ev(seq), id: `${convId}-${seq}`, conversation_id: convId, created_at: at } });
  it('groups by conversation, oldest first, without the current one', () => {
    const items = [
      item('live', 9, '2026-03-01T00:00:00Z'),
      item('b', 2, '2026-02-02T00:00:00Z'),
      item('b', 1, '2026-02-01T00:00:00Z'),
      item('a', 5, '2026-01-05T00:00:00Z'),
      item('b', 2, '2026-02-02T00:00:00Z'),
    ];
    const got = groupHistory(items, 'live');
    expect(got.map((g) => g.conversation.id)).toEqual(['a', 'b']);
    expect(got[1]!.events.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('TypingSignal', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  it('announces a start at most every 3 s and a stop after 4 s idle', () => {
    const sent: boolean[] = [];
    let now = 0;
    const s = new TypingSignal((v) => sent.push(v), 3000, 4000, () => now);
    s.input();
    now = 1000;
    s.input();
    expect(sent).toEqual([true]);
    now = 3500;
    s.input();
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(4000);
    expect(sent).toEqual([true, true, false]);
    s.stop();
    expect(sent).toEqual([true, true, false]);
  });
  it('stops at once when told', () => {
    const sent: boolean[] = [];
    const s = new TypingSignal((v) => sent.push(v));
    s.input();
    s.stop();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([true, false]);
  });
});

describe('lastInboundSeq', () => {
  it('is the last customer message', () => {
    expect(lastInboundSeq([ev(1, { direction: 'in' }), ev(2, { direction: 'out' }), ev(3, { kind: 'note' })])).toBe(1);
    expect(lastInboundSeq([])).toBe(0);
  });
});
