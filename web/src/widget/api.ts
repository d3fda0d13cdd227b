// The visitor API (docs/webchat.md): public calls under /api/v1/chat/ on
// the atende server the script was loaded from, authenticated by the visitor
// token. Errors come back as problem+json.

export interface Theme {
  primary_color: string;
  logo_url?: string;
  position: 'left' | 'right' | string;
}

export interface WidgetConfig {
  id: string;
  theme: Theme;
  language: string;
  languages: string[];
  pre_chat: { ask_name: boolean; ask_email: boolean; consent_required: boolean };
  open: boolean;
  offline_form: boolean;
  uploads: { max_bytes: number; mime_types: string[] | null };
  privacy_text: string;
  transcript?: boolean;
}

export interface Position {
  position: number;
  waiting: number;
  ewt_sec: number;
}

export interface SessionAnswer {
  state: 'waiting' | 'assigned' | 'offline' | 'ended' | string;
  token?: string;
  expires_at?: string;
  visitor_id: string;
  conversation_id?: string;
  protocol?: string;
  resumed: boolean;
  position?: Position;
}

export interface SessionState {
  conversation_id: string;
  protocol: string;
  status: string;
  state: string;
  position?: Position;
  visitor_read_seq: number;
  agent_read_seq: number;
  ended: boolean;
}

/** What to ask at the end of the chat: the kinds in order and their questions. */
export interface ChatSurvey {
  kinds: string[];
  questions: Record<string, string>;
  language: string;
}

export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
}

export interface Message {
  seq: number;
  direction: 'in' | 'out' | string;
  author: 'visitor' | 'agent' | string;
  body: string;
  client_id?: string;
  at: string;
  attachments?: Attachment[];
}

/** A frame on the visitor's WebSocket. */
export interface Frame {
  type: 'session' | 'message' | 'typing' | 'read' | 'queue' | 'agent_joined' | 'ended' | 'error' | string;
  message?: Message;
  typing?: boolean;
  side?: string;
  seq?: number;
  state?: string;
  position?: Position;
  agent?: string;
  error?: string;
}

/** An answer that was not 2xx; code is the problem type's last segment. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

export class Api {
  token = '';

  constructor(
    readonly base: string, // the atende origin, e.g. https://chat.example.com
    readonly widgetId: string,
  ) {}

  url(path: string): string {
    return `${this.base}/api/v1/chat${path}`;
  }

  wsURL(after: number): string {
    const u = new URL(this.url('/ws'));
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', this.token);
    u.searchParams.set('after', String(after));
    return u.toString();
  }

  fileURL(id: string, download = false): string {
    const u = new URL(this.url('/files/' + encodeURIComponent(id)));
    u.searchParams.set('token', this.token);
    if (download) u.searchParams.set('download', '1');
    return u.toString();
  }

  async call<T>(method: string, path: string, body?: unknown, init?: { raw?: Blob; type?: string }): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (init?.raw) {
      payload = init.raw;
      headers['Content-Type'] = init.type || 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    // No cookies: the visitor is known by the token only. Over the rate
    // limit, a short Retry-After is waited out here (twice at most), so a
    // burst of the visitor's own clicks does not surface as an error.
    let res: Response;
    for (let attempt = 0; ; attempt++) {
      res = await fetch(this.url(path), { method, headers, body: payload, credentials: 'omit', mode: 'cors' });
      const wait = Number(res.headers.get('Retry-After'));
      if (res.status !== 429 || attempt === 2 || !(wait >= 0 && wait <= 10)) break;
      await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    }
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      // type is urn:atende:problem:<code> (docs/problems.md).
      const p = (data ?? {}) as { type?: string; detail?: string; title?: string; field?: string };
      const code = (p.type ?? '').split(':').pop() || String(res.status);
      throw new ApiError(res.status, code, p.detail ?? p.title ?? '', p.field);
    }
    return data as T;
  }

  config(lang: string) {
    return this.call<WidgetConfig>('GET', `/${encodeURIComponent(this.widgetId)}/config?lang=${encodeURIComponent(lang)}`);
  }
  start(input: { visitor_id?: string; name?: string; email?: string; consent: boolean; language: string; page_url: string }) {
    return this.call<SessionAnswer>('POST', `/${encodeURIComponent(this.widgetId)}/sessions`, input);
  }
  offline(input: { name?: string; email: string; message: string; consent: boolean; language: string }) {
    return this.call<{ conversation_id: string; protocol: string }>('POST', `/${encodeURIComponent(this.widgetId)}/offline`, input);
  }
  session() {
    return this.call<SessionState>('GET', '/session');
  }
  messages(after: number) {
    return this.call<{ items: Message[]; next: number }>('GET', `/messages?after=${after}`);
  }
  send(clientId: string, body: string) {
    return this.call<Message>('POST', '/messages', { client_id: clientId, body });
  }
  upload(file: Blob, name: string, clientId: string) {
    const q = `?name=${encodeURIComponent(name)}&client_id=${encodeURIComponent(clientId)}`;
    return this.call<Message>('POST', '/files' + q, undefined, { raw: file, type: file.type });
  }
  end() {
    return this.call<null>('POST', '/end');
  }
  csat(score: number, comment: string) {
    return this.call<unknown>('POST', '/csat', { score, comment });
  }
  survey() {
    return this.call<ChatSurvey>('GET', '/survey');
  }
  nps(score: number, comment: string) {
    return this.call<unknown>('POST', '/nps', { score, comment });
  }
  transcript(email: string) {
    return this.call<{ queued: boolean }>('POST', '/transcript', email ? { email } : {});
  }
}
