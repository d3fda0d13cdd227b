// The visitor's chat: what the panel shows, kept in one state object, and
// the connection that feeds it. Nothing the visitor writes is lost or sent
// twice: messages wait in an outbox (kept in localStorage) under a random
// client_id until the server's copy comes back, and are resent after a
// reconnect or a reload; the server stores a client_id once.
import { Api, ApiError } from './api';
import type { Attachment, ChatSurvey, Frame, Message, Position, SessionAnswer, WidgetConfig } from './api';
import { TypingThrottle, backoff, fileProblem, mergeMessages, newClientId, nextSurveyStep } from './core';
import { isLang, pickLanguage } from './i18n';
import type { Lang } from './i18n';

export type Phase = 'loading' | 'unavailable' | 'closed' | 'prechat' | 'offline' | 'offline_sent' | 'chat' | 'ending' | 'csat' | 'nps' | 'thanks';

/** A message written but not yet confirmed by the server. */
export interface Outgoing {
  client_id: string;
  body: string;
  at: string;
}

/** A file being sent; error is set when it failed. */
export interface Upload {
  client_id: string;
  name: string;
  error?: 'too_large' | 'bad_type' | 'failed';
  max?: number;
}

export interface View {
  phase: Phase;
  lang: Lang;
  open: boolean;
  config?: WidgetConfig;
  messages: Message[];
  outbox: Outgoing[];
  uploads: Upload[];
  state: string; // waiting, assigned, ended
  position?: Position;
  agent?: string;
  agentTyping: boolean;
  agentReadSeq: number;
  connected: boolean;
  reconnecting: boolean;
  unread: number;
  protocol?: string;
  name: string;
  email: string;
  busy: boolean;
  error?: string; // an i18n key
  transcriptSentTo?: string;
  /** What the tenant asks at the end of the chat (GET /chat/survey). */
  survey?: ChatSurvey;
}

/** What survives a reload, per widget, in the host page's localStorage. */
interface Saved {
  visitorId?: string;
  token?: string;
  expiresAt?: string;
  conversationId?: string;
  seq?: number;
  outbox?: Outgoing[];
  name?: string;
  email?: string;
  consent?: boolean;
  agent?: string;
  lang?: Lang;
  open?: boolean;
  phase?: 'chat' | 'csat' | 'nps' | 'thanks';
  survey?: ChatSurvey;
}

export interface ChatOptions {
  base: string;
  widgetId: string;
  dataLang?: string | null;
  storage?: Storage | null;
}

export interface StartForm {
  name: string;
  email: string;
  consent: boolean;
}

export class Chat {
  readonly api: Api;
  view: View;
  private saved: Saved;
  private readonly key: string;
  private readonly storage: Storage | null;
  private readonly dataLang: string | null;
  private listeners = new Set<(v: View) => void>();
  private ws: WebSocket | null = null;
  private wsReady = false;
  private attempt = 0;
  private failedOpens = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private typingClear: ReturnType<typeof setTimeout> | undefined;
  private sentOnSocket = new Set<string>();
  private posting = new Set<string>();
  private readSent = 0;
  // The last seq read in order from the server (history or the socket's
  // stream); an answer to a POST does not move it, since messages before it
  // may not have arrived yet.
  private cursor = 0;
  private stopped = false;
  private renewing: Promise<boolean> | null = null;
  readonly typing: TypingThrottle;

  constructor(opts: ChatOptions) {
    this.api = new Api(opts.base, opts.widgetId);
    this.key = `atende.chat.${opts.widgetId}`;
    this.storage = opts.storage ?? null;
    this.dataLang = opts.dataLang ?? null;
    this.saved = this.load();
    this.api.token = this.saved.token ?? '';
    const lang = pickLanguage(this.saved.lang, this.dataLang, null, navigator.languages ?? [navigator.language]);
    this.view = {
      phase: 'loading', lang, open: !!this.saved.open, messages: [], outbox: this.saved.outbox ?? [], uploads: [],
      state: 'waiting', agent: this.saved.agent, agentTyping: false, agentReadSeq: 0, connected: false, reconnecting: false,
      unread: 0, name: this.saved.name ?? '', email: this.saved.email ?? '', busy: false,
    };
    this.typing = new TypingThrottle((typing) => this.frame({ type: 'typing', typing }));
  }

  subscribe(fn: (v: View) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<View>) {
    this.view = { ...this.view, ...patch };
    for (const fn of this.listeners) fn(this.view);
  }

  private load(): Saved {
    try {
      const raw = this.storage?.getItem(this.key);
      const s = raw ? (JSON.parse(raw) as Saved) : {};
      return s && typeof s === 'object' ? s : {};
    } catch {
      return {};
    }
  }

  private save(patch: Partial<Saved>) {
    this.saved = { ...this.saved, ...patch };
    try {
      this.storage?.setItem(this.key, JSON.stringify(this.saved));
    } catch {
      /* storage full or blocked: the chat still works for this page */
    }
  }

  // ---- start ----

  async init(): Promise<void> {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    let config: WidgetConfig;
    try {
      config = await this.api.config(this.view.lang);
    } catch {
      this.set({ phase: 'unavailable' });
      return;
    }
    const lang = pickLanguage(this.saved.lang, this.dataLang, config.language, navigator.languages ?? [navigator.language]);
    if (lang !== this.view.lang) {
      config = await this.api.config(lang).catch(() => config);
    }
    this.set({ config, lang });
    if (this.saved.token && this.saved.conversationId) {
      const phase = this.saved.phase ?? 'chat';
      this.set({ phase, survey: this.saved.survey });
      if (phase === 'chat') await this.resume();
      return;
    }
    this.set({ phase: this.entryPhase() });
  }

  /** Where a visitor without a chat starts: the form, or the offline form. */
  private entryPhase(): Phase {
    const c = this.view.config;
    if (!c) return 'unavailable';
    if (c.open) return 'prechat';
    return c.offline_form ? 'offline' : 'closed';
  }

  destroy() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.typing.stop();
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.ws?.close();
  }

  setOpen(open: boolean) {
    this.save({ open });
    this.set({ open, unread: open ? 0 : this.view.unread });
    if (open) this.markRead();
  }

  async setLang(lang: Lang) {
    if (!isLang(lang)) return;
    this.save({ lang });
    this.set({ lang });
    const config = await this.api.config(lang).catch(() => null);
    if (config) this.set({ config });
  }

  async startChat(form: StartForm): Promise<void> {
    this.set({ busy: true, error: undefined });
    try {
      const ans = await this.api.start({
        visitor_id: this.saved.visitorId, name: form.name.trim() || undefined, email: form.email.trim() || undefined,
        consent: form.consent, language: this.view.lang, page_url: location.href,
      });
      this.save({ visitorId: ans.visitor_id, name: form.name.trim(), email: form.email.trim(), consent: form.consent });
      this.set({ name: form.name.trim(), email: form.email.trim() });
      if (ans.state === 'offline' || !ans.token) {
        this.set({ phase: this.view.config?.offline_form ? 'offline' : 'closed', busy: false });
        return;
      }
      this.accept(ans);
      this.set({ busy: false, phase: 'chat', agent: this.saved.agent, transcriptSentTo: undefined });
      await this.resume();
    } catch (e) {
      this.set({ busy: false, error: errorKey(e) });
    }
  }

  private accept(ans: SessionAnswer) {
    this.api.token = ans.token ?? '';
    const fresh = this.saved.conversationId !== ans.conversation_id;
    this.save({
      visitorId: ans.visitor_id, token: ans.token, expiresAt: ans.expires_at, conversationId: ans.conversation_id, phase: 'chat',
      ...(fresh ? { seq: 0, agent: undefined } : {}),
    });
    this.set({ protocol: ans.protocol, state: ans.state, position: ans.position });
  }

  /** Loads the conversation so far, then connects. */
  private async resume(): Promise<void> {
    try {
      if (this.tokenExpiring() && !(await this.renew())) return;
      const st = await this.call(() => this.api.session());
      this.set({ protocol: st.protocol, state: st.state, position: st.position, agentReadSeq: st.agent_read_seq });
      this.readSent = st.visitor_read_seq;
      if (st.ended) {
        this.finish();
        return;
      }
      await this.history();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        // The chat is gone (widget deactivated, data removed): start over.
        this.forget();
        return;
      }
      // Offline or the server is down: the socket's retries take it from here.
    }
    this.connect();
  }

  /** Reads every visible message after the last one the page has. */
  private async history(): Promise<void> {
    for (;;) {
      const after = this.cursor;
      const page = await this.call(() => this.api.messages(after));
      this.receive(page.items, false, page.next);
      if (page.next <= after) break;
    }
  }

  /** Calls the API; a 401 (the token expired) starts the session again once. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && (await this.renew())) return fn();
      throw e;
    }
  }

  private tokenExpiring(): boolean {
    const exp = this.saved.expiresAt ? Date.parse(this.saved.expiresAt) : NaN;
    return !Number.isNaN(exp) && exp - Date.now() < 60_000;
  }

  /**
   * A fresh token for the same chat: a new session with the same visitor id
   * resumes the conversation (docs/webchat.md).
   */
  private renew(): Promise<boolean> {
    this.renewing ??= (async () => {
      try {
        const ans = await this.api.start({
          visitor_id: this.saved.visitorId, name: this.saved.name || undefined, email: this.saved.email || undefined,
          consent: !!this.saved.consent, language: this.view.lang, page_url: location.href,
        });
        if (!ans.token) return false;
        if (ans.conversation_id !== this.saved.conversationId) {
          // The old chat had ended; this is a new one.
          this.set({ messages: [], agent: undefined });
          this.readSent = 0;
          this.cursor = 0;
        }
        this.accept(ans);
        return true;
      } catch {
        return false;
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  /** Forget the chat (not the visitor): back to the start. */
  private forget() {
    this.ws?.close();
    this.save({ token: undefined, expiresAt: undefined, conversationId: undefined, seq: 0, outbox: [], agent: undefined, phase: undefined, survey: undefined });
    this.api.token = '';
    this.cursor = 0;
    this.readSent = 0;
    this.set({ phase: this.entryPhase(), messages: [], outbox: [], uploads: [], agent: undefined, state: 'waiting', position: undefined, survey: undefined });
  }

  // ---- the socket ----

  private connect() {
    if (this.stopped || this.view.phase !== 'chat') return;
    clearTimeout(this.retry);
    this.ws?.close();
    const after = this.cursor;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.api.wsURL(after));
    } catch {
      this.reconnectLater();
      return;
    }
    this.ws = ws;
    this.wsReady = false;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.wsReady = true;
      this.failedOpens = 0;
      this.sentOnSocket.clear();
      this.set({ connected: true, reconnecting: false });
      this.flush();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let f: Frame;
      try {
        f = JSON.parse(String(ev.data)) as Frame;
      } catch {
        return;
      }
      this.onFrame(f);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.wsReady = false;
      if (!opened) this.failedOpens++;
      this.set({ connected: false, agentTyping: false });
      this.reconnectLater();
    };
  }

  private reconnectLater() {
    if (this.stopped || this.view.phase !== 'chat') return;
    clearTimeout(this.retry);
    this.set({ reconnecting: true });
    const delay = backoff(this.attempt++);
    this.retry = setTimeout(async () => {
      // A socket that will not open may mean an expired token (a browser
      // does not say why a WebSocket failed): ask over HTTP.
      if (this.failedOpens >= 2 || this.tokenExpiring()) {
        try {
          const st = await this.call(() => this.api.session());
          if (st.ended) {
            this.finish();
            return;
          }
        } catch {
          /* still offline: try the socket again anyway */
        }
      }
      this.flush();
      this.connect();
    }, delay);
  }

  private onOnline = () => {
    if (this.view.phase !== 'chat' || this.wsReady) return;
    this.attempt = 0;
    this.flush();
    this.connect();
  };

  // The network went away: the socket may take a long time to notice, so
  // drop it now and show that messages are waiting.
  private onOffline = () => {
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      this.wsReady = false;
      ws.close();
      this.set({ connected: false, agentTyping: false });
      this.reconnectLater();
    }
  };

  private frame(f: Record<string, unknown>): boolean {
    if (!this.wsReady || !this.ws) return false;
    try {
      this.ws.send(JSON.stringify(f));
      return true;
    } catch {
      return false;
    }
  }

  private onFrame(f: Frame) {
    switch (f.type) {
      case 'session':
        this.attempt = 0;
        if (f.state === 'ended') this.finish();
        else this.set({ state: f.state ?? this.view.state, position: f.position });
        break;
      case 'message':
        if (f.message) this.receive([f.message], true, f.message.seq);
        break;
      case 'queue':
        this.set({ position: f.position, state: 'waiting' });
        break;
      case 'agent_joined':
        this.save({ agent: f.agent || undefined });
        this.set({ state: 'assigned', agent: f.agent || undefined, position: undefined });
        break;
      case 'typing':
        clearTimeout(this.typingClear);
        this.set({ agentTyping: !!f.typing });
        // A lost "stopped" must not leave the indicator on forever.
        if (f.typing) this.typingClear = setTimeout(() => this.set({ agentTyping: false }), 8000);
        break;
      case 'read':
        if (f.seq && f.seq > this.view.agentReadSeq) this.set({ agentReadSeq: f.seq });
        break;
      case 'ended':
        this.finish();
        break;
      case 'error':
        if (f.error === 'conflict') this.finish();
        break;
    }
  }

  /** New messages from the server: shown once, and their outbox entries done. */
  private receive(items: Message[], live: boolean, cursor?: number) {
    if (cursor && cursor > this.cursor) {
      this.cursor = cursor;
      this.save({ seq: cursor });
    }
    if (items.length === 0) return;
    const messages = mergeMessages(this.view.messages, items);
    const acked = new Set(items.map((m) => m.client_id).filter(Boolean));
    const outbox = this.view.outbox.filter((o) => !acked.has(o.client_id));
    const uploads = this.view.uploads.filter((u) => !acked.has(u.client_id));
    const fromAgent = messages.length > this.view.messages.length && items.some((m) => m.author === 'agent');
    this.save({ outbox });
    this.set({
      messages, outbox, uploads,
      agentTyping: fromAgent ? false : this.view.agentTyping,
      unread: live && fromAgent && !this.view.open ? this.view.unread + items.filter((m) => m.author === 'agent').length : this.view.unread,
    });
    this.markRead();
  }

  /** Tells the agent the visitor has seen their messages (panel open only). */
  private markRead() {
    if (!this.view.open || this.view.phase !== 'chat') return;
    const last = [...this.view.messages].reverse().find((m) => m.author === 'agent');
    if (!last || last.seq <= this.readSent) return;
    if (this.frame({ type: 'read', seq: last.seq })) this.readSent = last.seq;
  }

  // ---- sending ----

  send(body: string) {
    const text = body.trim();
    if (!text || this.view.phase !== 'chat') return;
    this.typing.stop();
    const o: Outgoing = { client_id: newClientId(), body: text, at: new Date().toISOString() };
    const outbox = [...this.view.outbox, o];
    this.save({ outbox });
    this.set({ outbox });
    this.flush();
  }

  /**
   * Sends what is waiting: on the socket when it is open (each once per
   * socket; the echo confirms it), else over HTTP (the answer confirms it).
   */
  private flush() {
    for (const o of this.view.outbox) {
      if (this.wsReady) {
        if (this.sentOnSocket.has(o.client_id)) continue;
        if (this.frame({ type: 'message', client_id: o.client_id, body: o.body })) this.sentOnSocket.add(o.client_id);
        continue;
      }
      if (this.posting.has(o.client_id)) continue;
      this.posting.add(o.client_id);
      this.call(() => this.api.send(o.client_id, o.body))
        .then((m) => this.receive([m], true))
        .catch((e) => {
          if (e instanceof ApiError && e.status === 409) this.finish();
          else if (e instanceof ApiError && e.status === 400) this.drop(o.client_id);
          // Anything else (offline, 5xx, 429): it stays in the outbox.
        })
        .finally(() => this.posting.delete(o.client_id));
    }
  }

  /** A message the server will never take (refused as invalid). */
  private drop(clientId: string) {
    const outbox = this.view.outbox.filter((o) => o.client_id !== clientId);
    this.save({ outbox });
    this.set({ outbox, error: 'error.generic' });
  }

  async upload(file: File) {
    const c = this.view.config;
    if (!c) return;
    const u: Upload = { client_id: newClientId(), name: file.name };
    const problem = fileProblem(file, c.uploads);
    if (problem) {
      this.set({ uploads: [...this.view.uploads, { ...u, error: problem, max: c.uploads.max_bytes }] });
      return;
    }
    this.set({ uploads: [...this.view.uploads, u] });
    try {
      const m = await this.call(() => this.api.upload(file, file.name, u.client_id));
      this.receive([m], true);
    } catch (e) {
      const error = e instanceof ApiError && e.status === 413 ? 'too_large' : e instanceof ApiError && e.status === 400 ? 'bad_type' : 'failed';
      this.set({ uploads: this.view.uploads.map((x) => (x.client_id === u.client_id ? { ...x, error, max: c.uploads.max_bytes } : x)) });
    }
  }

  dismissUpload(clientId: string) {
    this.set({ uploads: this.view.uploads.filter((u) => u.client_id !== clientId) });
  }

  async transcript(email: string): Promise<boolean> {
    this.set({ busy: true, error: undefined });
    try {
      await this.call(() => this.api.transcript(email.trim()));
      this.set({ busy: false, transcriptSentTo: email.trim() || this.view.email });
      return true;
    } catch (e) {
      this.set({ busy: false, error: e instanceof ApiError && (e.status === 409 || e.status === 429) ? 'transcript.unavailable' : errorKey(e) });
      return false;
    }
  }

  // ---- the end ----

  async end() {
    this.set({ busy: true });
    try {
      await this.call(() => this.api.end());
    } catch {
      /* the chat ends for the visitor anyway; the agent closes it */
    }
    this.set({ busy: false });
    this.finish();
  }

  private finish() {
    if (this.view.phase !== 'chat') return;
    this.typing.stop();
    clearTimeout(this.retry);
    const ws = this.ws;
    this.ws = null;
    this.wsReady = false;
    ws?.close();
    this.set({ phase: 'ending', state: 'ended', connected: false, reconnecting: false, agentTyping: false });
    // What to ask: the tenant's survey settings; when they cannot be read,
    // CSAT, as the widget always asked.
    this.call(() => this.api.survey())
      .catch((): ChatSurvey => ({ kinds: ['csat'], questions: {}, language: this.view.lang }))
      .then((survey) => {
        if (this.stopped || this.view.phase !== 'ending') return;
        const phase = nextSurveyStep('chat', survey.kinds);
        this.save({ phase, survey });
        this.set({ phase, survey });
      });
  }

  /** Answers (score > 0 for CSAT, ≥ 0 for NPS) or skips (-1) a question. */
  async answer(kind: 'csat' | 'nps', score: number, comment: string) {
    this.set({ busy: true, error: undefined });
    try {
      if (score >= 0 && (kind === 'nps' || score > 0)) {
        await this.call(() => (kind === 'csat' ? this.api.csat(score, comment) : this.api.nps(score, comment)));
      }
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) {
        this.set({ busy: false, error: errorKey(e) });
        return;
      }
    }
    const phase = nextSurveyStep(kind, this.view.survey?.kinds ?? []);
    this.save({ phase });
    this.set({ busy: false, phase });
  }

  async csat(score: number, comment: string) {
    return this.answer('csat', score > 0 ? score : -1, comment);
  }

  /** After the thank-you: a new chat for the same visitor. */
  newChat() {
    this.forget();
  }

  async leaveMessage(input: { name: string; email: string; message: string; consent: boolean }) {
    this.set({ busy: true, error: undefined });
    try {
      const out = await this.api.offline({
        name: input.name.trim() || undefined, email: input.email.trim(), message: input.message, consent: input.consent, language: this.view.lang,
      });
      this.save({ name: input.name.trim(), email: input.email.trim() });
      this.set({ busy: false, phase: 'offline_sent', protocol: out.protocol });
    } catch (e) {
      this.set({ busy: false, error: errorKey(e) });
    }
  }

  clearError() {
    if (this.view.error) this.set({ error: undefined });
  }
}

/** The catalogue key for an error the visitor should see. */
export function errorKey(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return 'error.rate_limited';
    if (e.status === 409) return 'error.ended';
    if (e.field === 'email') return 'error.email';
    if (e.field === 'consent') return 'error.consent';
    if (e.field === 'name' || e.field === 'message') return 'error.required';
  }
  return 'error.generic';
}

export type { Attachment, Message };
