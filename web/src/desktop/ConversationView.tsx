// One conversation tab: header with the actions (transfer, end), the unified
// timeline, the visitor's typing, the composer, and the customer card.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { api, errorText, type AtendeEvent, type Media, type TimelineEvent } from '../lib/api';
import { useSession } from '../app/session';
import { Composer } from './Composer';
import { CustomerCard } from './CustomerCard';
import { EndDialog, TransferDialog } from './Dialogs';
import { Timeline } from './Timeline';
import { lastInboundSeq, mergeEvents, newClientID, settle, type Outgoing } from './model';
import type { ConvInfo, Tab } from './Desktop';

const pageSize = 500;

export function ConversationView(props: { tab: Tab; active: boolean; info: ConvInfo | undefined; onClose: () => void; onFinished: () => void }) {
  const { onEvent, onResync, watch } = useSession();
  const id = props.tab.conversationId;
  const conv = props.info?.conv;
  const contact = props.info?.contact;
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [loadError, setLoadError] = useState('');
  const [outbox, setOutbox] = useState<Outgoing[]>([]);
  const [visitorTyping, setVisitorTyping] = useState(false);
  const [visitorRead, setVisitorRead] = useState(0);
  const [visitorLeft, setVisitorLeft] = useState(false);
  const [dialog, setDialog] = useState<'transfer' | 'end' | null>(null);
  const [sentTick, setSentTick] = useState(0);
  const lastSeq = useRef(0);
  const readSent = useRef(0);
  const typingTimer = useRef<ReturnType<typeof setTimeout>>();
  const chat = conv?.channel === 'chat';

  const fetchEvents = useCallback(async () => {
    try {
      for (let i = 0; i < 20; i++) {
        const page = await api<{ items: TimelineEvent[] }>('GET', `/conversations/${id}/events?after_seq=${lastSeq.current}&limit=${pageSize}`);
        if (page.items.length) {
          lastSeq.current = Math.max(lastSeq.current, ...page.items.map((e) => e.seq));
          setEvents((cur) => mergeEvents(cur, page.items));
        }
        if (page.items.length < pageSize) break;
      }
      setLoadError('');
    } catch (e) {
      setLoadError(errorText(e, t('error.network')));
    } finally {
      setLoaded(true);
    }
  }, [id]);

  useEffect(() => {
    fetchEvents();
    return onResync(fetchEvents);
  }, [fetchEvents]);

  // The stream carries this conversation's events while the tab is open,
  // whether or not the agent holds it (a past one opened from search, or
  // one transferred away). Once the server confirms, fetch again: events
  // from before the watch took effect were not streamed.
  useEffect(() => watch(id, fetchEvents), [id, fetchEvents]);

  useEffect(
    () =>
      onEvent((e: AtendeEvent) => {
        if (e.type === 'conversation.event_appended' && e.subject === id) {
          const ev = e.data as unknown as TimelineEvent;
          lastSeq.current = Math.max(lastSeq.current, ev.seq);
          setEvents((cur) => mergeEvents(cur, [ev]));
          if (ev.kind === 'message' && ev.direction === 'in') setVisitorTyping(false);
          return;
        }
        if (e.data.conversation_id !== id) return;
        if (e.type === 'chat.read' && e.data.side === 'visitor' && typeof e.data.seq === 'number') {
          const seq = e.data.seq;
          setVisitorRead((r) => Math.max(r, seq));
        } else if (e.type === 'chat.typing' && e.data.side === 'visitor') {
          setVisitorTyping(!!e.data.typing);
          clearTimeout(typingTimer.current);
          // A lost "stopped" must not leave the indicator on forever.
          if (e.data.typing) typingTimer.current = setTimeout(() => setVisitorTyping(false), 10_000);
        } else if (e.type === 'chat.ended') {
          setVisitorLeft(true);
          setVisitorTyping(false);
        }
      }),
    [id],
  );

  useEffect(() => setOutbox((o) => settle(o, events)), [events]);

  // The agent has seen what is on screen: tell the visitor (read marks).
  useEffect(() => {
    if (!props.active || !chat || document.visibilityState !== 'visible') return;
    const seq = lastInboundSeq(events);
    if (seq <= readSent.current) return;
    readSent.current = seq;
    api('POST', `/conversations/${id}/read`, { seq }).catch(() => {
      readSent.current = 0;
    });
  }, [props.active, events, chat]);

  const post = async (o: Outgoing) => {
    setOutbox((cur) => [...cur.filter((x) => x.client_id !== o.client_id), { ...o, state: 'sending', error: undefined }]);
    const body: Record<string, unknown> = { body: o.body, client_id: o.client_id };
    if (o.kind === 'message') {
      body.channel = conv?.channel ?? 'chat';
      body.direction = 'out';
    }
    if (o.attachments.length) body.attachments = o.attachments.map((a) => a.id);
    try {
      const r = await api<{ created: boolean; event: TimelineEvent }>('POST', `/conversations/${id}/${o.kind === 'note' ? 'notes' : 'messages'}`, body);
      setEvents((cur) => mergeEvents(cur, [r.event]));
    } catch (e) {
      setOutbox((cur) => cur.map((x) => (x.client_id === o.client_id ? { ...x, state: 'failed', error: errorText(e, t('error.network')) } : x)));
    }
  };

  const send = (kind: 'message' | 'note', text: string, attachments: Media[]) => {
    setSentTick((n) => n + 1);
    post({ client_id: newClientID(), kind, body: text, attachments, state: 'sending', at: Date.now() });
  };

  const name = contact?.name || t('offer.unknown_customer');
  const taskId = props.tab.taskId;
  return (
    <div class="conv">
      <section class="conv-main" aria-labelledby={`conv-title-${id}`}>
        <header class="conv-head">
          <div class="conv-title">
            {conv && <span class={`channel-icon ch-${conv.channel}`} aria-hidden="true" />}
            <h2 id={`conv-title-${id}`}>{name}</h2>
            {conv && (
              <span class="muted">
                {t(`channel.${conv.channel}`)} · {t('offer.protocol', { protocol: conv.protocol })}
              </span>
            )}
            {conv && conv.status !== 'open' && <span class={`pill status-${conv.status}`}>{t(`status.${conv.status}`)}</span>}
          </div>
          <div class="conv-actions">
            <button type="button" class="btn" disabled={!taskId} title={taskId ? undefined : t('conv.no_task')} onClick={() => setDialog('transfer')}>
              {t('conv.transfer')}
            </button>
            <button type="button" class="btn btn-danger" onClick={() => setDialog('end')}>
              {t('conv.end')}
            </button>
            <button type="button" class="btn btn-ghost" aria-label={t('ws.close_tab', { name })} onClick={props.onClose}>
              {t('conv.close')}
            </button>
          </div>
        </header>
        {loadError && (
          <p class="alert" role="alert">
            {loadError}
          </p>
        )}
        {visitorLeft && (
          <p class="banner" role="status">
            {t('conv.visitor_left')}
          </p>
        )}
        <Timeline
          conversationId={id}
          contactId={conv?.contact_id}
          contactName={name}
          events={events}
          loaded={loaded}
          outbox={outbox}
          visitorRead={visitorRead}
          sentTick={sentTick}
          onRetry={post}
          onDiscard={(o) => setOutbox((cur) => cur.filter((x) => x.client_id !== o.client_id))}
        />
        <div class="typing" aria-live="polite" data-testid="typing">
          {visitorTyping && (
            <span>
              <span class="dots" aria-hidden="true">
                <i />
                <i />
                <i />
              </span>{' '}
              {t('conv.typing', { name })}
            </span>
          )}
        </div>
        <Composer conversationId={id} chat={chat} notesOnly={conv?.channel === 'email'} onSend={send} />
      </section>
      <aside class="conv-side" aria-label={t('customer.card')}>
        <CustomerCard contact={contact} conv={conv} />
      </aside>
      {dialog === 'transfer' && taskId && <TransferDialog conversationId={id} taskId={taskId} onClose={() => setDialog(null)} onDone={props.onFinished} />}
      {dialog === 'end' && <EndDialog conversationId={id} taskId={taskId} onClose={() => setDialog(null)} onDone={props.onFinished} />}
    </div>
  );
}
