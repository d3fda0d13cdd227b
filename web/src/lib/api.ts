// The REST API under /api/v1: JSON in and out, problem+json errors (titles
// already translated by the server from Accept-Language), the session cookie
// and the CSRF token on unsafe requests.
import { language } from '../i18n';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  field?: string;
  retry_after?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
  ) {
    super(problem?.title ?? `HTTP ${status}`);
  }
  /** The problem code, e.g. "rate_limited", from its URN. */
  get code(): string {
    return this.problem?.type.replace('urn:atende:problem:', '') ?? '';
  }
}

/** A fetch that never reached the server. */
export class NetworkError extends Error {}

let csrf = '';
export function setCSRF(token: string) {
  csrf = token;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': language() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new NetworkError(String(e));
  }
  if (!res.ok) {
    let problem: Problem | null = null;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      /* not problem+json: a proxy's answer */
    }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Sends a file as the raw request body (POST /media). */
export async function upload<T>(path: string, file: Blob): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': language(),
    'Content-Type': file.type || 'application/octet-stream',
  };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, { method: 'POST', headers, body: file, credentials: 'same-origin' });
  } catch (e) {
    throw new NetworkError(String(e));
  }
  if (!res.ok) {
    let problem: Problem | null = null;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      /* not problem+json */
    }
    throw new ApiError(res.status, problem);
  }
  return (await res.json()) as T;
}

/** A short message for an error from api(): the problem's title (and detail). */
export function errorText(e: unknown, network: string): string {
  if (e instanceof ApiError) return e.problem?.detail ? `${e.message}: ${e.problem.detail}` : e.message;
  return network;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

/** Every item of a paged list (small configuration lists only). */
export async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor = '';
  const sep = path.includes('?') ? '&' : '?';
  for (let i = 0; i < 50; i++) {
    const page = await api<Page<T>>('GET', `${path}${sep}limit=200${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

// The API's types the UI uses (see docs/openapi.json).
export type Channel = 'voice' | 'chat' | 'email' | 'sms' | 'social';
export type AgentStatus = 'offline' | 'available' | 'away' | 'wrap_up' | 'busy';

export interface User {
  id: string;
  name: string;
  email: string;
  roles: string[];
  language?: string;
}
export interface Tenant {
  id: string;
  slug: string;
  name: string;
  time_zone: string;
  language: string;
  locale: string;
}
export interface Me {
  user: User;
  tenant: Tenant;
  permissions: string[];
  csrf_token?: string;
  via: string;
}
export interface AgentState {
  user_id: string;
  status: AgentStatus;
  reason_code?: string;
  since: string;
}
export interface ReasonCode {
  id: string;
  code: string;
  labels: Record<string, string>;
  active: boolean;
}
export interface Queue {
  id: string;
  name: string;
}
export interface Task {
  id: string;
  conversation_id?: string;
  channel: Channel;
  queue_id: string;
  state: 'waiting' | 'offered' | 'assigned' | 'done';
  agent_id?: string;
  enqueued_at: string;
  created_at: string;
  offered_at?: string;
  offer_deadline?: string;
  accepted_at?: string;
}
export interface Conversation {
  id: string;
  protocol: string;
  subject: string;
  contact_id: string;
  channel: Channel;
  status: 'open' | 'pending' | 'resolved' | 'closed';
  assignee_id?: string;
  queue_id?: string;
  tags: string[];
  disposition_id?: string;
  last_event_seq: number;
  created_at: string;
}
export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
}
export interface TimelineEvent {
  id: string;
  conversation_id: string;
  seq: number;
  kind: 'message' | 'note' | 'status' | 'assignment' | 'disposition' | 'tags' | string;
  channel?: Channel;
  direction?: 'in' | 'out';
  author_kind: 'contact' | 'user' | 'system' | string;
  author_id?: string;
  body?: string;
  // Attachments, status/assignment/disposition details, an email's headers...
  data?: { attachments?: Attachment[]; [k: string]: unknown };
  client_id?: string;
  created_at: string;
}
export interface Identity {
  id: string;
  kind: 'email' | 'phone' | 'chat' | 'social' | string;
  value: string;
  network?: string;
  verified: boolean;
}
export interface Contact {
  id: string;
  name: string;
  language?: string;
  identities: Identity[];
  fields: Record<string, unknown>;
  tags: string[];
}
export interface FieldDef {
  id: string;
  key: string;
  labels: Record<string, string>;
  type: string;
  options?: string[];
}
export interface Disposition {
  id: string;
  code: string;
  labels: Record<string, string>;
  category?: string;
  require_note: boolean;
  resolves: boolean;
  active: boolean;
}
export interface CannedResponse {
  id: string;
  scope: 'tenant' | 'personal';
  shortcut: string;
  title: string;
  body: string;
  language?: string;
}
export interface Media {
  id: string;
  name: string;
  content_type: string;
  size: number;
}
export interface HistoryItem {
  event: TimelineEvent;
  conversation: { id: string; protocol: string; channel: Channel; subject: string; status: string; created_at: string };
}
export interface HistoryPage {
  items: HistoryItem[];
  next?: string;
}
export interface AgentEventData {
  id: string;
  status: AgentStatus;
  reason_code?: string;
  since: string;
}
export interface AtendeEvent {
  id: number;
  type: string;
  subject: string;
  // The payload depends on the type: a task, an agent's state, a timeline
  // entry (conversation.event_appended), a conversation, read marks, typing.
  data: {
    task?: Task;
    agent?: AgentEventData;
    conversation_id?: string;
    side?: 'visitor' | 'agent';
    seq?: number;
    typing?: boolean;
    [k: string]: unknown;
  };
  at: string;
}
