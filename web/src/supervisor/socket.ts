// The wallboard's own WebSocket (GET /api/v1/wallboard/ws, the session
// cookie): a snapshot first, then a snapshot whenever something changed, and
// alerts and broadcasts as they happen. Each snapshot is whole, so a
// reconnect needs no cursor: the first frame after it is the truth again.
import type { Message } from './model';

export type LinkState = { kind: 'connecting' } | { kind: 'online' } | { kind: 'waiting'; until: number };

export interface Link {
  close(): void;
}

/** The delay before reconnect attempt n (0-based): 0.5 s doubling to 30 s, ±25 %. */
export function backoff(attempt: number, random = Math.random()): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.75 + random * 0.5);
}

export function connectWallboard(query: string, onMessage: (m: Message) => void, onState: (s: LinkState) => void): Link {
  let attempt = 0;
  let ws: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const retry = () => {
    if (closed) return;
    clearTimeout(timer);
    const delay = backoff(attempt++);
    onState({ kind: 'waiting', until: Date.now() + delay });
    timer = setTimeout(open, delay);
  };
  const open = () => {
    if (closed) return;
    onState({ kind: 'connecting' });
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/wallboard/ws${query}`);
    ws = sock;
    sock.onmessage = (e) => {
      let m: Message;
      try {
        m = JSON.parse(e.data as string) as Message;
      } catch {
        return;
      }
      if (m.type === 'snapshot') {
        // Online once the first snapshot arrived, not merely on open: a
        // socket that opens and says nothing shows nothing true.
        if (attempt !== 0 || !online) {
          attempt = 0;
          online = true;
          onState({ kind: 'online' });
        }
      }
      onMessage(m);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      online = false;
      retry();
    };
  };
  let online = false;
  // Back online after a network drop: try at once rather than wait out the delay.
  const onOnline = () => {
    if (!ws && !closed) {
      clearTimeout(timer);
      attempt = 0;
      open();
    }
  };
  addEventListener('online', onOnline);
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      removeEventListener('online', onOnline);
      const s = ws;
      ws = null;
      s?.close();
    },
  };
}
