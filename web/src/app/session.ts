import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { AtendeEvent, Me } from '../lib/api';
import type { Formatter } from '../lib/format';

/** What every app inside the shell gets: who is logged in, formatting in
 * their language and tenant time zone, and the live event stream. */
export interface Session {
  me: Me;
  fmt: Formatter;
  can(permission: string): boolean;
  onEvent(f: (e: AtendeEvent) => void): () => void;
  /** Called after the stream reconnected: lists may have changed meanwhile. */
  onResync(f: () => void): () => void;
  /**
   * Receive a conversation's events (an open tab) until the returned
   * function is called; onWatched runs each time the server confirms it,
   * also after a reconnect: fetch what may have been missed there.
   */
  watch(conversationId: string, onWatched?: () => void): () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the shell');
  return s;
}

/** The current time, refreshed every interval ms, for timers and countdowns. */
export function useNow(interval = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), interval);
    return () => clearInterval(id);
  }, [interval]);
  return now;
}
