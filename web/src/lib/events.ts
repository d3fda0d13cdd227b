// The live event stream (GET /api/v1/ws, cookie session). On a drop it
// reconnects with a growing, jittered delay and resumes with ?after=<last id>,
// so no event is missed.
import type { AtendeEvent } from './api';

export type ConnState = { kind: 'connecting' } | { kind: 'online' } | { kind: 'waiting'; until: number };

export interface EventStream {
  close(): void;
}

export function connectEvents(onEvent: (e: AtendeEvent) => void, onState: (s: ConnState) => void): EventStream {
  let last = -1;
  let attempt = 0;
  let ws: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const open = () => {
    if (closed) return;
    onState({ kind: 'connecting' });
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = last >= 0 ? `?after=${last}` : '';
    ws = new WebSocket(`${proto}//${location.host}/api/v1/ws${q}`);
    ws.onopen = () => {
      attempt = 0;
      onState({ kind: 'online' });
    };
    ws.onmessage = (m) => {
      let e: AtendeEvent;
      try {
        e = JSON.parse(m.data as string) as AtendeEvent;
      } catch {
        return;
      }
      // Transient events (typing) have id 0: delivered, never a cursor.
      if (e.id !== 0) {
        if (e.id <= last) return; // a replay overlap
        last = e.id;
      }
      onEvent(e);
    };
    ws.onclose = () => {
      ws = null;
      if (closed) return;
      const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt++;
      onState({ kind: 'waiting', until: Date.now() + delay });
      timer = setTimeout(open, delay);
    };
  };
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      ws?.close();
    },
  };
}
