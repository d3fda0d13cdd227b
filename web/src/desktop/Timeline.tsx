// The unified timeline of a conversation tab: the customer's earlier
// conversations on every channel (GET /contacts/{id}/timeline, loaded
// backwards as the agent scrolls up), then the current conversation live,
// then what the agent sent that the server has not stored yet.
import type { ComponentType } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { language, t } from '../i18n';
import { api, ApiError, type Attachment, type HistoryItem, type HistoryPage, type TimelineEvent } from '../lib/api';
import { useSession } from '../app/session';
import { groupHistory, label, type Outgoing } from './model';
import { useWorkspace } from './workspace';

/** Props of web/src/desktop/email/EmailMessage.tsx, when it is there. */
type EmailMessageProps = { event: TimelineEvent };
const emailModules = import.meta.glob<{ EmailMessage: ComponentType<EmailMessageProps> }>('./email/EmailMessage.tsx');
const loadEmail = Object.values(emailModules)[0];

export function Timeline(props: {
  conversationId: string;
  contactId: string | undefined;
  contactName: string;
  events: TimelineEvent[];
  loaded: boolean;
  outbox: Outgoing[];
  visitorRead: number;
  onRetry: (o: Outgoing) => void;
  onDiscard: (o: Outgoing) => void;
  /** Changes when the agent sends: scroll to the end. */
  sentTick: number;
}) {
  const { events, outbox } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const [history, setHistory] = useState<HistoryItem[]>([]);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [historyState, setHistoryState] = useState<'idle' | 'loading' | 'done' | 'error'>('idle');
  const stick = useRef(true); // follow new entries while at the bottom
  const prevHeight = useRef(0);

  const loadHistory = async (before?: string) => {
    if (!props.contactId) return;
    setHistoryState('loading');
    const el = scroller.current;
    prevHeight.current = el ? el.scrollHeight - el.scrollTop : 0;
    try {
      const q = `limit=50${before ? '&before=' + encodeURIComponent(before) : ''}`;
      const page = await api<HistoryPage>('GET', `/contacts/${props.contactId}/timeline?${q}`);
      setHistory((h) => [...h, ...page.items]);
      setNext(page.next);
      setHistoryState(page.next ? 'idle' : 'done');
    } catch (e) {
      setHistoryState(e instanceof ApiError && e.status === 404 ? 'done' : 'error');
    }
  };

  useEffect(() => {
    setHistory([]);
    setNext(undefined);
    if (props.contactId) loadHistory();
  }, [props.contactId]);

  // Earlier history when the top comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !scroller.current || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((x) => x.isIntersecting) && historyState === 'idle' && next) loadHistory(next);
      },
      { root: scroller.current, rootMargin: '200px 0px 0px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [historyState, next]);

  // Keep the view still when history is added above; follow the end otherwise.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (prevHeight.current) {
      el.scrollTop = el.scrollHeight - prevHeight.current;
      prevHeight.current = 0;
    }
  }, [history]);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events, outbox, props.loaded]);
  useLayoutEffect(() => {
    const el = scroller.current;
    stick.current = true;
    if (el) el.scrollTop = el.scrollHeight;
  }, [props.sentTick]);

  const onScroll = () => {
    const el = scroller.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };

  const groups = groupHistory(history, props.conversationId);
  return (
    <div class="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label={t('timeline.label')} data-testid="timeline">
      <div ref={sentinel} class="history-top">
        {historyState === 'loading' && <p class="muted center">{t('timeline.loading_history')}</p>}
        {historyState === 'idle' && next && (
          <button type="button" class="btn btn-small" onClick={() => loadHistory(next)}>
            {t('timeline.load_more')}
          </button>
        )}
        {historyState === 'error' && (
          <p class="muted center">
            {t('timeline.history_failed')}{' '}
            <button type="button" class="btn btn-small" onClick={() => loadHistory(next)}>
              {t('timeline.retry')}
            </button>
          </p>
        )}
        {historyState === 'done' && groups.length === 0 && <p class="muted center">{t('timeline.no_history')}</p>}
      </div>
      {groups.length > 0 && (
        <section aria-label={t('timeline.history')} class="history" data-testid="history">
          {groups.map((g) => (
            <article key={g.conversation.id} class="history-conv" aria-label={t('timeline.past_conversation', { protocol: g.conversation.protocol })}>
              <ConvDivider channel={g.conversation.channel} protocol={g.conversation.protocol} at={g.conversation.created_at} subject={g.conversation.subject} />
              {g.events.map((e) => (
                <Entry key={e.id} e={e} contactName={props.contactName} visitorRead={0} />
              ))}
            </article>
          ))}
        </section>
      )}
      <section aria-label={t('timeline.current')} class="current">
        {groups.length > 0 && (
          <div class="divider divider-current">
            <span>{t('timeline.current')}</span>
          </div>
        )}
        {!props.loaded && <p class="muted center">{t('app.loading')}</p>}
        <div role="log" aria-live="polite" aria-relevant="additions" class="entries">
          {events.map((e) => (
            <Entry key={e.id} e={e} contactName={props.contactName} visitorRead={props.visitorRead} />
          ))}
          {outbox.map((o) => (
            <Pending key={o.client_id} o={o} onRetry={props.onRetry} onDiscard={props.onDiscard} />
          ))}
        </div>
      </section>
    </div>
  );
}

function ConvDivider({ channel, protocol, at, subject }: { channel: string; protocol: string; at: string; subject: string }) {
  const { fmt } = useSession();
  return (
    <div class="divider">
      <span>
        <span class={`channel-icon ch-${channel}`} aria-hidden="true" /> {t(`channel.${channel}` as 'channel.chat')} · {t('offer.protocol', { protocol })} ·{' '}
        {fmt.dateTime(at)}
        {subject && <> · {subject}</>}
      </span>
    </div>
  );
}

/** One timeline entry: a message either way, a note, or a system line. */
export function Entry({ e, contactName, visitorRead }: { e: TimelineEvent; contactName: string; visitorRead: number }) {
  const { fmt, me } = useSession();
  const ws = useWorkspace();
  const lang = language();
  const who = e.author_kind === 'contact' ? contactName : e.author_id === me.user.id ? t('conv.you') : ws.personName(e.author_id);
  const data = (e.data ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof data[k] === 'string' ? (data[k] as string) : '');

  if (e.kind === 'message' && e.channel === 'email') return <EmailEntry e={e} who={who} />;
  if (e.kind === 'message') {
    const out = e.direction === 'out';
    const read = out && visitorRead >= e.seq;
    return (
      <div class={`msg ${out ? 'msg-out' : 'msg-in'}`} data-seq={e.seq} data-testid="message">
        <div class="msg-meta">
          <span class="msg-author">{who}</span>
          {e.channel && e.channel !== 'chat' && <span class="msg-channel">{t(`channel.${e.channel}`)}</span>}
          <time dateTime={e.created_at} title={fmt.dateTime(e.created_at)}>
            {fmt.clock(e.created_at)}
          </time>
        </div>
        {e.body && <p class="msg-body">{e.body}</p>}
        <Attachments list={e.data?.attachments} />
        {out && e.channel === 'chat' && (
          <span class={`receipt${read ? ' read' : ''}`} data-testid="receipt" title={read ? t('receipt.read') : t('receipt.delivered')}>
            <span aria-hidden="true">{read ? '✓✓' : '✓'}</span>
            <span class="sr-only">{read ? t('receipt.read') : t('receipt.delivered')}</span>
          </span>
        )}
      </div>
    );
  }
  if (e.kind === 'note') {
    return (
      <div class="note" data-seq={e.seq} data-testid="note">
        <div class="msg-meta">
          <span class="note-tag">{t('timeline.note')}</span>
          <span class="msg-author">{who}</span>
          <time dateTime={e.created_at} title={fmt.dateTime(e.created_at)}>
            {fmt.clock(e.created_at)}
          </time>
        </div>
        {e.body && <p class="msg-body">{e.body}</p>}
        <Attachments list={e.data?.attachments} />
      </div>
    );
  }
  let text: string;
  switch (e.kind) {
    case 'status':
      text = t('system.status', { status: t(`status.${str('to') || 'open'}` as 'status.open') });
      break;
    case 'assignment': {
      const to = str('to_assignee_id');
      const fromQ = str('from_queue_id');
      const toQ = str('to_queue_id');
      if (to) text = t('system.assigned', { name: to === me.user.id ? t('conv.you') : ws.personName(to) });
      else if (toQ && toQ !== fromQ) text = t('system.queue', { queue: ws.queueName(toQ) });
      else text = t('system.unassigned');
      break;
    }
    case 'disposition': {
      const d = ws.dispositions.find((x) => x.id === str('disposition_id'));
      text = t('system.disposition', { disposition: label(d?.labels, lang, str('code')) });
      if (str('note')) text += ` — ${str('note')}`;
      break;
    }
    case 'tags': {
      const to = Array.isArray(data.to) ? (data.to as string[]) : [];
      text = to.length ? t('system.tags', { tags: to.join(', ') }) : t('system.tags_cleared');
      break;
    }
    default:
      text = e.body || e.kind;
  }
  return (
    <div class="sys" data-seq={e.seq} data-testid="system">
      <span>
        {text} · {e.author_kind === 'user' ? `${who} · ` : ''}
        <time dateTime={e.created_at}>{fmt.clock(e.created_at)}</time>
      </span>
    </div>
  );
}

function EmailEntry({ e, who }: { e: TimelineEvent; who: string }) {
  const { fmt } = useSession();
  const [View, setView] = useState<ComponentType<EmailMessageProps> | null>(null);
  useEffect(() => {
    loadEmail?.().then(
      (m) => setView(() => m.EmailMessage),
      () => {},
    );
  }, []);
  if (View) return <View event={e} />;
  const email = (e.data?.email ?? {}) as { subject?: string };
  return (
    <div class={`msg msg-email ${e.direction === 'out' ? 'msg-out' : 'msg-in'}`} data-seq={e.seq} data-testid="message">
      <div class="msg-meta">
        <span class="msg-author">{who}</span>
        <span class="msg-channel">{t('channel.email')}</span>
        <time dateTime={e.created_at}>{fmt.dateTime(e.created_at)}</time>
      </div>
      {email.subject && <p class="msg-subject">{email.subject}</p>}
      {e.body && <p class="msg-body">{e.body}</p>}
      <Attachments list={e.data?.attachments} />
    </div>
  );
}

export function Attachments({ list }: { list: Attachment[] | undefined }) {
  const { fmt } = useSession();
  if (!list?.length) return null;
  return (
    <ul class="attachments" aria-label={t('attach.list')}>
      {list.map((a) => {
        const url = `/api/v1/media/${encodeURIComponent(a.id)}`;
        const image = /^image\/(png|jpeg|gif|webp)$/.test(a.content_type);
        return (
          <li key={a.id}>
            {image ? (
              <a href={url} target="_blank" rel="noopener" class="thumb" aria-label={t('attach.open_image', { name: a.name })}>
                <img src={url} alt={a.name} loading="lazy" />
              </a>
            ) : (
              <a href={`${url}?download=1`} class="file" download={a.name}>
                <span class="file-icon" aria-hidden="true">
                  📎
                </span>
                <span class="file-name">{a.name}</span>
                <span class="muted file-size">{fmt.bytes(a.size)}</span>
              </a>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function Pending({ o, onRetry, onDiscard }: { o: Outgoing; onRetry: (o: Outgoing) => void; onDiscard: (o: Outgoing) => void }) {
  const { fmt } = useSession();
  return (
    <div class={`${o.kind === 'note' ? 'note' : 'msg msg-out'} pending${o.state === 'failed' ? ' failed' : ''}`} data-testid="pending">
      <div class="msg-meta">
        {o.kind === 'note' && <span class="note-tag">{t('timeline.note')}</span>}
        <span class="msg-author">{t('conv.you')}</span>
      </div>
      {o.body && <p class="msg-body">{o.body}</p>}
      {o.attachments.length > 0 && (
        <ul class="attachments">
          {o.attachments.map((a) => (
            <li key={a.id} class="file">
              {a.name} <span class="muted">{fmt.bytes(a.size)}</span>
            </li>
          ))}
        </ul>
      )}
      {o.state === 'sending' ? (
        <span class="receipt" role="status">
          {t('receipt.sending')}
        </span>
      ) : (
        <div class="pending-failed" role="alert">
          <span>{t('receipt.failed', { reason: o.error ?? '' })}</span>
          <button type="button" class="btn btn-small" onClick={() => onRetry(o)}>
            {t('receipt.retry')}
          </button>
          <button type="button" class="btn btn-small btn-ghost" onClick={() => onDiscard(o)}>
            {t('receipt.discard')}
          </button>
        </div>
      )}
    </div>
  );
}
