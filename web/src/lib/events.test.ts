import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AtendeEvent } from './api';
import { eventStream, type Socket } from './events';

class FakeSocket implements Socket {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  sent: { type: string; conversation_ids: string[] }[] = [];
  constructor(readonly path: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.drop();
  }
  // What the server does.
  accept() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  frame(v: unknown) {
    this.onmessage?.({ data: JSON.stringify(v) } as MessageEvent);
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({} as CloseEvent);
  }
}

describe('eventStream', () => {
  let sockets: FakeSocket[];
  let events: AtendeEvent[];
  const current = () => sockets[sockets.length - 1]!;
  const ev = (id: number, type = 'conversation.updated'): AtendeEvent => ({ id, type, subject: 'c1', data: {} }) as AtendeEvent;

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    events = [];
  });
  afterEach(() => vi.useRealTimers());

  const start = () => {
    const s = eventStream({ scope: 'own', open: (p) => (sockets.push(new FakeSocket(p)), current()) });
    s.start(
      (e) => events.push(e),
      () => {},
    );
    return s;
  };

  it('opens the scoped stream and resumes it after the last event', () => {
    start();
    expect(current().path).toBe('/api/v1/ws?scope=own');
    current().accept();
    current().frame(ev(5));
    current().frame(ev(0, 'chat.typing')); // transient: no cursor
    current().drop();
    vi.runOnlyPendingTimers();
    expect(current().path).toBe('/api/v1/ws?scope=own&after=5');
    current().accept();
    current().frame(ev(5)); // a replay overlap
    current().frame(ev(6));
    expect(events.map((e) => e.id)).toEqual([5, 0, 6]);
  });

  it('sends the watch list when it connects, and again after a reconnect', () => {
    const s = start();
    s.watch('c1'); // before the socket is open: sent on open
    current().accept();
    s.watch('c2');
    expect(current().sent).toEqual([
      { type: 'watch', conversation_ids: ['c1'] },
      { type: 'watch', conversation_ids: ['c2'] },
    ]);
    current().drop();
    vi.runOnlyPendingTimers();
    current().accept();
    expect(current().sent).toEqual([{ type: 'watch', conversation_ids: ['c1', 'c2'] }]);
  });

  it('unwatches when the last watcher of a conversation stops', () => {
    const s = start();
    current().accept();
    const a = s.watch('c1');
    const b = s.watch('c1');
    a();
    expect(current().sent).toEqual([{ type: 'watch', conversation_ids: ['c1'] }]);
    b();
    b(); // twice is once
    expect(current().sent).toEqual([
      { type: 'watch', conversation_ids: ['c1'] },
      { type: 'unwatch', conversation_ids: ['c1'] },
    ]);
    current().drop();
    vi.runOnlyPendingTimers();
    current().accept();
    expect(current().sent).toEqual([]); // nothing left to watch
  });

  it('calls onWatched when the server confirms, on every connection, and never passes frames on as events', () => {
    const s = start();
    const confirmed: string[] = [];
    s.watch('c1', () => confirmed.push('c1'));
    s.watch('gone', () => confirmed.push('gone'));
    current().accept();
    current().frame({ type: 'error', error: 'not_found', conversation_id: 'gone' });
    current().frame({ type: 'watching', conversation_ids: ['c1'] });
    current().frame({ type: 'watching', conversation_ids: ['c1'] }); // an answer to another watch: not again
    expect(confirmed).toEqual(['c1']);
    current().drop();
    vi.runOnlyPendingTimers();
    current().accept();
    current().frame({ type: 'watching', conversation_ids: ['c1', 'gone'] });
    expect(confirmed).toEqual(['c1', 'c1', 'gone']);
    expect(events).toEqual([]);
  });

  it('names at most 200 conversations in one message', () => {
    const s = start();
    for (let i = 0; i < 250; i++) s.watch(`c${i}`);
    current().accept();
    expect(current().sent.map((m) => m.conversation_ids.length)).toEqual([200, 50]);
  });

  it('does not reconnect once closed', () => {
    const s = start();
    current().accept();
    s.close();
    vi.runAllTimers();
    expect(sockets.length).toBe(1);
  });
});
