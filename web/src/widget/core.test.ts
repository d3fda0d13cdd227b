import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from './api';
import { TypingThrottle, backoff, colour, fileProblem, formatBytes, mergeMessages, newClientId, nextSurveyStep, npsBand, textOn } from './core';

const msg = (seq: number, body = `m${seq}`): Message => ({ seq, direction: 'in', author: 'visitor', body, at: '2024-01-01T00:00:00Z' });

describe('mergeMessages', () => {
  it('keeps order by seq and drops repeated seqs', () => {
    const a = mergeMessages([], [msg(3), msg(1)]);
    expect(a.map((m) => m.seq)).toEqual([1, 3]);
    const b = mergeMessages(a, [msg(2), msg(3, 'again'), msg(2)]);
    expect(b.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(b[2].body).toBe('m3');
  });
  it('returns the same list when nothing is new', () => {
    const a = [msg(1)];
    expect(mergeMessages(a, [msg(1)])).toBe(a);
  });
});

describe('backoff', () => {
  it('doubles from half a second and caps at 30 s, within ±25 %', () => {
    expect(backoff(0, () => 0.5)).toBe(500);
    expect(backoff(1, () => 0.5)).toBe(1000);
    expect(backoff(20, () => 0.5)).toBe(30_000);
    expect(backoff(20, () => 0)).toBe(22_500);
    expect(backoff(20, () => 0.9999)).toBeLessThanOrEqual(37_500);
  });
});

describe('TypingThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends at most one typing frame per interval, then a stop when idle', () => {
    const sent: boolean[] = [];
    const t = new TypingThrottle((b) => sent.push(b), 2000, 3000, () => Date.now());
    t.input();
    vi.advanceTimersByTime(500);
    t.input();
    vi.advanceTimersByTime(500);
    t.input();
    expect(sent).toEqual([true]);
    vi.advanceTimersByTime(1000);
    t.input(); // 2 s after the first
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(3000);
    expect(sent).toEqual([true, true, false]);
  });

  it('stops once when the message is sent, and not again', () => {
    const sent: boolean[] = [];
    const t = new TypingThrottle((b) => sent.push(b));
    t.input();
    t.stop();
    t.stop();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([true, false]);
  });
});

describe('fileProblem', () => {
  const uploads = { max_bytes: 1000, mime_types: ['image/png', 'application/pdf'] };
  it('follows the server rule: exact type, size within the limit', () => {
    expect(fileProblem({ type: 'image/png', size: 10 }, uploads)).toBeNull();
    expect(fileProblem({ type: 'image/png', size: 1001 }, uploads)).toBe('too_large');
    expect(fileProblem({ type: 'image/jpeg', size: 10 }, uploads)).toBe('bad_type');
    expect(fileProblem({ type: '', size: 10 }, uploads)).toBe('bad_type');
    expect(fileProblem({ type: 'image/png', size: 10 }, { max_bytes: 0, mime_types: ['image/png'] })).toBe('too_large');
  });
});

it('formats sizes and makes distinct client ids', () => {
  expect(formatBytes(512, 'en')).toBe('512 B');
  expect(formatBytes(1536, 'en')).toBe('1.5 KB');
  expect(formatBytes(1536, 'es')).toBe('1,5 KB');
  const a = newClientId();
  expect(a).toMatch(/^[0-9a-f-]{36}$/);
  expect(newClientId()).not.toBe(a);
});

it('picks readable text on the theme colour and refuses anything but #rrggbb', () => {
  expect(textOn('#1f6feb')).toBe('#ffffff');
  expect(textOn('#ffd400')).toBe('#000000');
  expect(colour('red')).toBe('#1f6feb');
  expect(colour('#00aa55')).toBe('#00aa55');
  expect(colour('#00aa55;background:url(x)')).toBe('#1f6feb');
});

describe('nextSurveyStep', () => {
  it('asks CSAT then NPS, each only when the tenant asks it', () => {
    expect(nextSurveyStep('chat', ['csat', 'nps'])).toBe('csat');
    expect(nextSurveyStep('csat', ['csat', 'nps'])).toBe('nps');
    expect(nextSurveyStep('nps', ['csat', 'nps'])).toBe('thanks');
    expect(nextSurveyStep('chat', ['nps'])).toBe('nps');
    expect(nextSurveyStep('csat', ['csat'])).toBe('thanks');
    expect(nextSurveyStep('chat', [])).toBe('thanks');
  });
});

describe('npsBand', () => {
  it('splits 0-10 into detractors 0-6, passives 7-8 and promoters 9-10', () => {
    expect([0, 6, 7, 8, 9, 10].map(npsBand)).toEqual(['detractor', 'detractor', 'passive', 'passive', 'promoter', 'promoter']);
  });
});
