// The live event stream (GET /api/v1/ws, cookie session). On a drop it
// reconnects with a growing, jittered delay and resumes with ?after=<last id>,
// so no event is missed.
//
// With scope 'own' (the desktop) the server sends conversation events only
// for the conversations offered or assigned to the user and those watched:
// watch() adds one (an open tab), and the list is sent again after every
// reconnect. Events of a watched conversation from while the stream was down
// are not replayed, so onWatched, called each time the server confirms the
// watch, is where the caller fetches what it may have missed.
import type { AtendeEvent } from './api';

export type ConnState = { kind: 'connecting' } | { kind: 'online' } | { kind: 'waiting'; until: number };

/** What the stream needs of a WebSocket (a fake one in tests). */
export interface Socket {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  send(data: string): void;
  close(): void;
}

export interface StreamOptions {
  /** 'own': conversation events only for the user's and the watched conversations. */
  scope?: 'own';
  /** Opens the socket for a path such as /api/v1/ws?after=5. */
  open?: (path: string) => Socket;
}

export interface EventStream {
  /** Connects; events and connection states go to the callbacks. */
  start(onEvent: (e: AtendeEvent) => void, onState: (s: ConnState) => void): void;
  close(): void;
  /**
   * Watches a conversation until the returned function is called. onWatched
   * runs whenever the server confirms the watch (also after a reconnect).
   */
  watch(conversationId: string, onWatched?: () => void): () => void;
}

/** A frame that is not an event: the server's answer to watch or unwatch. */
interface ScopeFrame {
  type: 'watching' | 'error';
  conversation_ids?: string[];
  conversation_id?: string;
  error?: string;
}

/** The most conversations named in one watch message (the server's bound). */
const perMessage = 200;

const OPEN = 1;

function browserSocket(path: string): Socket {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(`${proto}//${location.host}${path}`);
}

export function eventStream(opts: StreamOptions = {}): EventStream {
  const openSocket = opts.open ?? browserSocket;
  let last = -1;
  let attempt = 0;
  let ws: Socket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let started = false;
  let onEvent: (e: AtendeEvent) => void = () => {};
  let onState: (s: ConnState) => void = () => {};
  // Watched conversations: the callbacks of each watcher (a conversation may
  // be watched more than once); pending: sent, not yet confirmed on this
  // connection.
  const watchers = new Map<string, Set<() => void>>();
  const pending = new Set<string>();

  const send = (type: 'watch' | 'unwatch', ids: string[]) => {
    if (!ws || ws.readyState !== OPEN || !opts.scope) return;
    for (let i = 0; i < ids.length; i += perMessage) {
      ws.send(JSON.stringify({ type, conversation_ids: ids.slice(i, i + perMessage) }));
    }
    if (type === 'watch') ids.forEach((id) => pending.add(id));
  };

  const onFrame = (f: ScopeFrame) => {
    if (f.type === 'watching') {
      for (const id of f.conversation_ids ?? []) {
        if (!pending.delete(id)) continue;
        watchers.get(id)?.forEach((cb) => cb());
      }
    } else if (f.type === 'error' && f.conversation_id) {
      pending.delete(f.conversation_id); // not ours to read, or gone
    }
  };

  const open = () => {
    if (closed) return;
    onState({ kind: 'connecting' });
    const q = new URLSearchParams();
    if (opts.scope) q.set('scope', opts.scope);
    if (last >= 0) q.set('after', String(last));
    const qs = q.toString();
    const sock = openSocket(`/api/v1/ws${qs ? `?${qs}` : ''}`);
    ws = sock;
    sock.onopen = () => {
      attempt = 0;
      pending.clear();
      send('watch', [...watchers.keys()]);
      onState({ kind: 'online' });
    };
    sock.onmessage = (m) => {
      let e: AtendeEvent | ScopeFrame;
      try {
        e = JSON.parse(m.data as string) as AtendeEvent | ScopeFrame;
      } catch {
        return;
      }
      if (typeof (e as AtendeEvent).id !== 'number') {
        onFrame(e as ScopeFrame);
        return;
      }
      const ev = e as AtendeEvent;
      // Transient events (typing) have id 0: delivered, never a cursor.
      if (ev.id !== 0) {
        if (ev.id <= last) return; // a replay overlap
        last = ev.id;
      }
      onEvent(ev);
    };
    sock.onclose = () => {
      if (ws === sock) ws = null;
      if (closed) return;
      const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt++;
      onState({ kind: 'waiting', until: Date.now() + delay });
      timer = setTimeout(open, delay);
    };
  };

  return {
    start(ev, st) {
      if (started) return;
      started = true;
      onEvent = ev;
      onState = st;
      open();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      ws?.close();
    },
    watch(id, onWatched = () => {}) {
      let set = watchers.get(id);
      const fresh = !set;
      if (!set) watchers.set(id, (set = new Set()));
      // Each watcher has its own entry, even with the same callback.
      const cb = () => onWatched();
      set.add(cb);
      if (fresh) send('watch', [id]);
      else if (!pending.has(id) && ws?.readyState === OPEN) queueMicrotask(cb); // already confirmed
      return () => {
        const s = watchers.get(id);
        if (!s?.delete(cb) || s.size > 0) return;
        watchers.delete(id);
        pending.delete(id);
        send('unwatch', [id]);
      };
    },
  };
}
