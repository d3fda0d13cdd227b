// One email timeline entry (kind "message", channel "email").
//
// Props (the workspace's timeline mounts it):
//   event        TimelineEvent   the entry; data.email holds the headers,
//                                sanitised HTML, attachments, DSN (docs/email.md)
//   delivery?    OutboundMail | null
//                                delivery state of an outgoing message; when
//                                omitted it is read from GET /conversations/{id}/emails
//   ownAddresses? string[]       our mailbox addresses, left out of reply-all
//   canReply?    boolean         show Reply / Reply all / Forward (default: the
//                                user has conversations:write)
//   onSent?      (r: EmailSent) => void
//                                after the inline composer queued a reply or forward
//
// The HTML is shown in a sandboxed iframe (no scripts) loaded from
// GET /conversations/{id}/events/{seq}/email, whose own Content-Security-Policy
// lets images come only from atende and data: until the agent clicks "Show"
// (then ?remote_images=true, for this message only). Quoted history is folded
// behind a "…" button and kept whole.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, useLanguage, type Key } from '../../i18n';
import { api, type TimelineEvent } from '../../lib/api';
import { useSession } from '../../app/session';
import { EmailComposer, type EmailSent } from './EmailComposer';
import { bounceReason, emailOf, showAddress, splitQuote, type ComposeMode, type EmailData, type OutboundMail } from './model';
import './email.css';

export interface EmailMessageProps {
  event: TimelineEvent;
  delivery?: OutboundMail | null;
  ownAddresses?: string[];
  canReply?: boolean;
  onSent?: (r: EmailSent) => void;
}

// One request per conversation serves every outgoing message shown.
const deliveryCache = new Map<string, { at: number; list: Promise<OutboundMail[]> }>();
export function deliveries(conversationId: string, fresh = false): Promise<OutboundMail[]> {
  const hit = deliveryCache.get(conversationId);
  if (hit && !fresh && Date.now() - hit.at < 3000) return hit.list;
  const list = api<OutboundMail[]>('GET', `/conversations/${conversationId}/emails`);
  deliveryCache.set(conversationId, { at: Date.now(), list });
  list.catch(() => deliveryCache.delete(conversationId));
  return list;
}

// Addresses seen sending our outgoing mail: ours, so reply-all skips them.
const knownOwn = new Set<string>();

function useDelivery(e: TimelineEvent, given: OutboundMail | null | undefined): OutboundMail | null {
  const [found, setFound] = useState<OutboundMail | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (given !== undefined || e.direction !== 'out') return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    deliveries(e.conversation_id, tick > 0).then(
      (list) => {
        if (!live) return;
        const d = list.find((o) => o.event_id === e.id) ?? null;
        setFound(d);
        // Not final yet: look again a little later.
        if (d && (d.state === 'queued' || d.state === 'sending')) timer = setTimeout(() => setTick((n) => n + 1), 15_000);
      },
      () => {},
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [e.id, given, tick]);
  return given !== undefined ? given : found;
}

export function EmailMessage({ event: e, delivery, ownAddresses, canReply, onSent }: EmailMessageProps) {
  useLanguage();
  const { fmt, can } = useSession();
  const m = emailOf(e);
  const d = useDelivery(e, delivery);
  const [compose, setCompose] = useState<ComposeMode | null>(null);
  if (!m) return <EmailFallback e={e} />;
  if (e.direction === 'out') knownOwn.add(m.from.address.toLowerCase());
  const out = e.direction === 'out';
  const replyable = (canReply ?? can('conversations:write')) && !m.dsn;
  const when = m.date || e.created_at;
  const files = (m.attachments ?? []).filter((p) => !(p.inline && p.content_id && m.html?.includes(`cid:${p.content_id}`)));
  return (
    <article
      class={`msg msg-email email ${out ? 'msg-out email-out' : 'msg-in email-in'}`}
      data-seq={e.seq}
      data-testid="email-message"
      aria-label={t('email.message_label', { subject: m.subject || t('email.no_subject') })}
    >
      <header class="email-head">
        <h3 class="email-subject">{m.subject || <span class="muted">{t('email.no_subject')}</span>}</h3>
        <dl class="email-addrs">
          <dt>{t('email.from')}</dt>
          <dd>{showAddress(m.from)}</dd>
          {!!m.to?.length && (
            <>
              <dt>{t('email.to')}</dt>
              <dd>{m.to.map(showAddress).join(', ')}</dd>
            </>
          )}
          {!!m.cc?.length && (
            <>
              <dt>{t('email.cc')}</dt>
              <dd>{m.cc.map(showAddress).join(', ')}</dd>
            </>
          )}
          {!!m.bcc?.length && (
            <>
              <dt>{t('email.bcc')}</dt>
              <dd>{m.bcc.map(showAddress).join(', ')}</dd>
            </>
          )}
        </dl>
        <div class="email-meta">
          <time dateTime={when}>{fmt.dateTime(when)}</time>
          {out && <DeliveryState d={d} />}
        </div>
      </header>
      {m.dsn && <BounceReport dsn={m.dsn} of={m.bounce_of} />}
      {m.unparsable && (
        <p class="email-warning" role="note">
          {t('email.unparsable')}
        </p>
      )}
      {m.html ? <HtmlBody e={e} m={m} /> : <TextBody text={e.body ?? ''} quoteAt={m.quote_at} />}
      {m.truncated && <p class="email-warning">{t('email.truncated')}</p>}
      {files.length > 0 && (
        <ul class="email-files" aria-label={t('email.attachments')}>
          {files.map((p) => (
            <li key={p.media_id}>
              <a href={`/api/v1/media/${encodeURIComponent(p.media_id)}?download=1`} download={p.name}>
                <span aria-hidden="true">📎 </span>
                {p.name || p.content_type}
              </a>{' '}
              <span class="muted">{fmt.bytes(p.size)}</span>
            </li>
          ))}
        </ul>
      )}
      <footer class="email-actions">
        {replyable && (
          <>
            <button type="button" class="btn btn-small" onClick={() => setCompose('reply')}>
              {t('email.reply')}
            </button>
            <button type="button" class="btn btn-small" onClick={() => setCompose('reply_all')}>
              {t('email.reply_all')}
            </button>
            <button type="button" class="btn btn-small" onClick={() => setCompose('forward')}>
              {t('email.forward')}
            </button>
          </>
        )}
        {m.raw_media_id && (
          <a class="email-source" href={`/api/v1/media/${encodeURIComponent(m.raw_media_id)}?download=1`} download="message.eml">
            {t('email.source')}
          </a>
        )}
      </footer>
      {compose && (
        <EmailComposer
          key={compose}
          conversationId={e.conversation_id}
          mode={compose}
          source={{ event: e, email: m }}
          ownAddresses={[...(ownAddresses ?? []), ...knownOwn]}
          onCancel={() => setCompose(null)}
          onSent={(r) => {
            deliveryCache.delete(e.conversation_id);
            onSent?.(r);
          }}
        />
      )}
    </article>
  );
}

function EmailFallback({ e }: { e: TimelineEvent }) {
  return (
    <article class="msg msg-email email" data-seq={e.seq} data-testid="email-message">
      <pre class="email-text">{e.body}</pre>
    </article>
  );
}

function DeliveryState({ d }: { d: OutboundMail | null }) {
  if (!d) return null;
  const bounce = d.state === 'bounced' ? bounceReason(d.last_error) : null;
  return (
    <span class={`email-state email-state-${d.state}`} data-testid="email-state" data-state={d.state}>
      {t(`email.state_${d.state}` as Key)}
      {d.state === 'failed' && d.last_error && <span class="email-state-why">: {d.last_error}</span>}
      {bounce && (
        <span class="email-state-why">
          : {[bounce.status, bounce.diagnostic].filter(Boolean).join(' ') || t('email.bounce_unknown')}
        </span>
      )}
    </span>
  );
}

function BounceReport({ dsn, of }: { dsn: NonNullable<EmailData['dsn']>; of?: string }) {
  return (
    <div class="email-bounce" role="note" data-testid="email-bounce">
      <strong>{t('email.bounce_title')}</strong>
      {dsn.recipient && <span> {t('email.bounce_recipient', { address: dsn.recipient })}</span>}
      {(dsn.status || dsn.diagnostic) && <span> — {[dsn.status, dsn.diagnostic].filter(Boolean).join(' ')}</span>}
      {of && <div class="muted email-bounce-of">{t('email.bounce_of', { id: of })}</div>}
    </div>
  );
}

function TextBody({ text, quoteAt }: { text: string; quoteAt: number }) {
  const [open, setOpen] = useState(false);
  const [own, quoted] = splitQuote(text, quoteAt);
  return (
    <div class="email-body">
      <pre class="email-text">{own.replace(/\s+$/, '')}</pre>
      {quoted && <QuoteToggle open={open} onToggle={() => setOpen(!open)} />}
      {quoted && open && (
        <pre class="email-text email-quote" data-testid="email-quote">
          {quoted}
        </pre>
      )}
    </div>
  );
}

function QuoteToggle({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      class="email-quote-toggle"
      aria-expanded={open}
      title={open ? t('email.quote_hide') : t('email.quote_show')}
      aria-label={open ? t('email.quote_hide') : t('email.quote_show')}
      onClick={onToggle}
      data-testid="email-quote-toggle"
    >
      …
    </button>
  );
}

const quoteSelector = '.gmail_quote, .yahoo_quoted, .moz-cite-prefix, blockquote';

/** The elements that hold quoted history: the first quote and everything
 * after it at the same level. */
function quoteNodes(doc: Document): HTMLElement[] {
  const first = doc.body?.querySelector<HTMLElement>(quoteSelector);
  if (!first) return [];
  const out: HTMLElement[] = [];
  for (let n: Element | null = first; n; n = n.nextElementSibling) out.push(n as HTMLElement);
  return out;
}

function HtmlBody({ e, m }: { e: TimelineEvent; m: EmailData }) {
  const [remote, setRemote] = useState(false);
  const [open, setOpen] = useState(false);
  const [hasQuote, setHasQuote] = useState(!!m.html_quote);
  const frame = useRef<HTMLIFrameElement>(null);
  const blocked = (m.html ?? '').includes('atende-remote:');
  const src = `/api/v1/conversations/${encodeURIComponent(e.conversation_id)}/events/${e.seq}/email${remote ? '?remote_images=true' : ''}`;

  // The frame runs no scripts; the desktop folds the quote and sizes it.
  const layout = () => {
    const f = frame.current;
    const doc = f?.contentDocument;
    if (!f || !doc?.body) return;
    const nodes = quoteNodes(doc);
    setHasQuote(nodes.length > 0);
    for (const n of nodes) n.style.display = open ? '' : 'none';
    f.style.height = `${Math.min(Math.max(doc.documentElement.scrollHeight, 40), 4000)}px`;
  };
  useEffect(layout, [open]);

  return (
    <div class="email-body">
      {blocked && !remote && (
        <div class="email-remote-bar" role="note" data-testid="email-remote-bar">
          <span>{t('email.remote_hidden')}</span>
          <button type="button" class="btn btn-small" onClick={() => setRemote(true)}>
            {t('email.remote_show')}
          </button>
        </div>
      )}
      <iframe
        ref={frame}
        class="email-frame"
        title={t('email.frame_title', { subject: m.subject || t('email.no_subject') })}
        sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"
        referrerpolicy="no-referrer"
        src={src}
        onLoad={layout}
        data-testid="email-frame"
      />
      {hasQuote && <QuoteToggle open={open} onToggle={() => setOpen(!open)} />}
    </div>
  );
}
