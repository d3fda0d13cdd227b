// Writing an email: a reply, reply-all or forward in a conversation, or a new
// email to a customer.
//
// Props:
//   mode            'reply' | 'reply_all' | 'forward' | 'new'
//   conversationId? string      the conversation (reply, reply_all, forward);
//                                omitted for a new email (POST /emails)
//   source?         { event: TimelineEvent; email: EmailData }
//                                the message answered or forwarded: recipients
//                                and subject are prefilled from it
//   contactId?      string      new email: the customer it is for
//   to?             string[]    initial To (e.g. the customer's address)
//   subject?        string      initial subject (default from source)
//   ownAddresses?   string[]    our mailbox addresses, left out of reply-all
//   onSent?         (r: EmailSent) => void   after the server queued it
//   onCancel?       () => void  the agent closed the composer
//
// Sends POST /conversations/{id}/emails (or POST /emails) with a client_id
// made once per composer, so a resend after a network error creates nothing
// twice. The mailbox's signature is added by the server.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, useLanguage, type Key } from '../../i18n';
import { api, ApiError, upload, type TimelineEvent } from '../../lib/api';
import { useSession } from '../../app/session';
import { htmlToText, parseAddress, prefixSubject, replyRecipients, splitAddresses, type ComposeMode, type EmailData, type OutboundMail } from './model';
import './email.css';

export interface EmailSent {
  outbound: OutboundMail;
  event?: TimelineEvent;
  conversation_id?: string;
}
export interface EmailComposerProps {
  mode: ComposeMode;
  conversationId?: string;
  source?: { event: TimelineEvent; email: EmailData };
  contactId?: string;
  to?: string[];
  subject?: string;
  ownAddresses?: string[];
  onSent?: (r: EmailSent) => void;
  onCancel?: () => void;
}

interface Upload {
  key: string;
  name: string;
  size: number;
  id?: string;
  error?: string;
}
interface MailboxOption {
  id: string;
  name: string;
  address: string;
  active: boolean;
  smtp?: unknown;
}

function newClientId(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// Mailboxes to send from; only administrators may list them (GET /mailboxes
// needs config:manage), so agents send from the conversation's mailbox.
let mailboxList: Promise<MailboxOption[]> | null = null;
function mailboxes(): Promise<MailboxOption[]> {
  mailboxList ??= api<{ items: MailboxOption[] }>('GET', '/mailboxes?limit=200').then(
    (p) => p.items.filter((m) => m.active && m.smtp),
    () => [],
  );
  return mailboxList;
}

export function EmailComposer(props: EmailComposerProps) {
  useLanguage();
  const { fmt } = useSession();
  const { mode, source } = props;
  const initial = source ? replyRecipients(source.email, mode, props.ownAddresses ?? []) : { to: [], cc: [] };
  const [to, setTo] = useState<string[]>(props.to ?? initial.to);
  const [cc, setCc] = useState<string[]>(initial.cc);
  const [bcc, setBcc] = useState<string[]>([]);
  const [showBcc, setShowBcc] = useState(false);
  const [subject, setSubject] = useState(props.subject ?? (source ? prefixSubject(source.email.subject, mode) : ''));
  const [files, setFiles] = useState<Upload[]>([]);
  const [noSignature, setNoSignature] = useState(false);
  const [boxes, setBoxes] = useState<MailboxOption[]>([]);
  const [mailboxId, setMailboxId] = useState('');
  const [error, setError] = useState('');
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState<OutboundMail | null>(null);
  const [empty, setEmpty] = useState(true);
  const editor = useRef<HTMLDivElement>(null);
  const clientId = useRef(newClientId());
  const fileInput = useRef<HTMLInputElement>(null);
  const [linking, setLinking] = useState(false);
  const [linkUrl, setLinkUrl] = useState('https://');
  const saved = useRef<Range | null>(null);

  useEffect(() => {
    mailboxes().then((list) => setBoxes(list));
    editor.current?.focus();
  }, []);

  const invalid = [...to, ...cc, ...bcc].filter((a) => !parseAddress(a));
  const uploading = files.some((f) => !f.id && !f.error);

  const exec = (cmd: string, arg?: string) => {
    editor.current?.focus();
    document.execCommand(cmd, false, arg);
    setEmpty(!editor.current?.textContent?.trim());
  };
  const startLink = () => {
    const sel = getSelection();
    saved.current = sel && sel.rangeCount ? sel.getRangeAt(0).cloneRange() : null;
    setLinking(true);
  };
  const addLink = () => {
    const url = linkUrl.trim();
    setLinking(false);
    if (!/^(https?:|mailto:)/i.test(url)) return;
    editor.current?.focus();
    const sel = getSelection();
    if (saved.current && sel) {
      sel.removeAllRanges();
      sel.addRange(saved.current);
    }
    if (sel && sel.isCollapsed) document.execCommand('insertText', false, url);
    if (sel && sel.isCollapsed && sel.anchorNode) {
      // Select what was just typed so it becomes the link.
      const r = document.createRange();
      r.setStart(sel.anchorNode, Math.max(0, sel.anchorOffset - url.length));
      r.setEnd(sel.anchorNode, sel.anchorOffset);
      sel.removeAllRanges();
      sel.addRange(r);
    }
    document.execCommand('createLink', false, url);
    setEmpty(false);
  };

  const attach = (list: FileList | null) => {
    for (const file of Array.from(list ?? [])) {
      const key = newClientId();
      setFiles((fs) => [...fs, { key, name: file.name, size: file.size }]);
      upload<{ id: string }>(`/media?name=${encodeURIComponent(file.name)}`, file).then(
        (m) => setFiles((fs) => fs.map((f) => (f.key === key ? { ...f, id: m.id } : f))),
        (e) => setFiles((fs) => fs.map((f) => (f.key === key ? { ...f, error: problemText(e) } : f))),
      );
    }
  };

  const send = async (ev: Event) => {
    ev.preventDefault();
    setError('');
    if (!to.length && !cc.length && !bcc.length) return setError(t('email.need_recipient'));
    if (invalid.length) return setError(t('email.invalid_address', { address: invalid[0]! }));
    const root = editor.current!;
    const text = htmlToText(root);
    if (!text && mode !== 'forward') return setError(t('email.need_text'));
    const body: Record<string, unknown> = {
      to: to.map((a) => parseAddress(a)!),
      cc: cc.map((a) => parseAddress(a)!),
      bcc: bcc.map((a) => parseAddress(a)!),
      subject,
      text: text || ' ',
      html: text ? root.innerHTML : '',
      attachments: files.filter((f) => f.id).map((f) => f.id),
      no_signature: noSignature || undefined,
      client_id: clientId.current,
    };
    if (mailboxId) body.mailbox_id = mailboxId;
    if (mode === 'forward' && source) body.forward_event_id = source.event.id;
    if (mode === 'new' && props.contactId) body.contact_id = props.contactId;
    setSending(true);
    try {
      const path = mode === 'new' || !props.conversationId ? '/emails' : `/conversations/${props.conversationId}/emails`;
      const r = await api<EmailSent>('POST', path, body);
      setSent(r.outbound);
      props.onSent?.(r);
    } catch (e) {
      setError(problemText(e));
    } finally {
      setSending(false);
    }
  };

  const title = t(`email.compose_${mode}` as Key);
  if (sent) {
    return (
      <section class="email-composer email-composer-done" aria-label={title} data-testid="email-composer">
        <p role="status" data-testid="email-queued">
          {t('email.queued', { count: sent.recipients.length })}
        </p>
        <button type="button" class="btn btn-small" onClick={props.onCancel}>
          {t('email.close')}
        </button>
      </section>
    );
  }
  return (
    <form class="email-composer" aria-label={title} onSubmit={send} data-testid="email-composer">
      <h4 class="email-composer-title">{title}</h4>
      {boxes.length > 1 && (
        <label class="email-field">
          <span>{t('email.mailbox')}</span>
          <select value={mailboxId} onChange={(e) => setMailboxId((e.target as HTMLSelectElement).value)}>
            <option value="">{t('email.mailbox_default')}</option>
            {boxes.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name} &lt;{b.address}&gt;
              </option>
            ))}
          </select>
        </label>
      )}
      <AddressField label={t('email.to')} value={to} onChange={setTo} />
      <AddressField label={t('email.cc')} value={cc} onChange={setCc} />
      {showBcc ? (
        <AddressField label={t('email.bcc')} value={bcc} onChange={setBcc} />
      ) : (
        <button type="button" class="btn-link" onClick={() => setShowBcc(true)}>
          {t('email.add_bcc')}
        </button>
      )}
      <label class="email-field">
        <span>{t('email.subject')}</span>
        <input type="text" value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} maxLength={998} />
      </label>
      <div class="email-toolbar" role="toolbar" aria-label={t('email.format')}>
        <button type="button" class="btn btn-small" aria-label={t('email.bold')} title={t('email.bold')} onMouseDown={(e) => e.preventDefault()} onClick={() => exec('bold')}>
          <b>B</b>
        </button>
        <button type="button" class="btn btn-small" aria-label={t('email.italic')} title={t('email.italic')} onMouseDown={(e) => e.preventDefault()} onClick={() => exec('italic')}>
          <i>I</i>
        </button>
        <button type="button" class="btn btn-small" aria-label={t('email.bullets')} title={t('email.bullets')} onMouseDown={(e) => e.preventDefault()} onClick={() => exec('insertUnorderedList')}>
          •
        </button>
        <button type="button" class="btn btn-small" aria-label={t('email.numbers')} title={t('email.numbers')} onMouseDown={(e) => e.preventDefault()} onClick={() => exec('insertOrderedList')}>
          1.
        </button>
        <button type="button" class="btn btn-small" aria-label={t('email.link')} title={t('email.link')} onMouseDown={(e) => e.preventDefault()} onClick={startLink}>
          🔗
        </button>
        {linking && (
          <span class="email-link-input">
            <input
              type="url"
              aria-label={t('email.link_url')}
              value={linkUrl}
              onInput={(e) => setLinkUrl((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addLink();
                }
                if (e.key === 'Escape') setLinking(false);
              }}
            />
            <button type="button" class="btn btn-small" onClick={addLink}>
              {t('email.link_add')}
            </button>
          </span>
        )}
      </div>
      <div
        ref={editor}
        class={`email-editor${empty ? ' is-empty' : ''}`}
        contentEditable
        role="textbox"
        aria-multiline="true"
        aria-label={t('email.body')}
        data-placeholder={t('email.body_placeholder')}
        data-testid="email-editor"
        onInput={() => setEmpty(!editor.current?.textContent?.trim())}
        onPaste={(e) => {
          // Pasted mail and web pages bring styles and scripts: text only.
          e.preventDefault();
          document.execCommand('insertText', false, e.clipboardData?.getData('text/plain') ?? '');
        }}
      />
      <p class="muted email-signature-note">
        {t('email.signature_note')}{' '}
        <label>
          <input type="checkbox" checked={noSignature} onChange={(e) => setNoSignature((e.target as HTMLInputElement).checked)} /> {t('email.no_signature')}
        </label>
      </p>
      {mode === 'forward' && source && <p class="muted">{t('email.forward_note')}</p>}
      {files.length > 0 && (
        <ul class="email-files" aria-label={t('email.attachments')}>
          {files.map((f) => (
            <li key={f.key} class={f.error ? 'is-error' : ''}>
              📎 {f.name} <span class="muted">{fmt.bytes(f.size)}</span>
              {!f.id && !f.error && <span class="muted"> {t('email.uploading')}</span>}
              {f.error && <span role="alert"> {f.error}</span>}
              <button type="button" class="btn-link" aria-label={t('email.remove_file', { name: f.name })} onClick={() => setFiles((fs) => fs.filter((x) => x.key !== f.key))}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="email-error" role="alert" data-testid="email-error">
          {error}
        </p>
      )}
      <div class="email-composer-actions">
        <input ref={fileInput} type="file" multiple hidden onChange={(e) => attach((e.target as HTMLInputElement).files)} />
        <button type="button" class="btn btn-small" onClick={() => fileInput.current?.click()}>
          {t('email.attach')}
        </button>
        <span class="spacer" />
        {props.onCancel && (
          <button type="button" class="btn btn-ghost" onClick={props.onCancel}>
            {t('email.cancel')}
          </button>
        )}
        <button type="submit" class="btn btn-primary" disabled={sending || uploading}>
          {sending ? t('email.sending') : t('email.send')}
        </button>
      </div>
    </form>
  );
}

function problemText(e: unknown): string {
  if (e instanceof ApiError) return e.problem?.detail ? `${e.message}: ${e.problem.detail}` : e.message;
  return t('email.network_error');
}

/** To, Cc or Bcc as address chips: typed text becomes chips at Enter, comma,
 * semicolon or when leaving the field; invalid ones are marked. */
function AddressField({ label, value, onChange }: { label: string; value: string[]; onChange: (v: string[]) => void }) {
  const [text, setText] = useState('');
  const commit = (s: string) => {
    const parts = splitAddresses(s);
    if (parts.length) onChange([...value, ...parts.filter((p) => !value.includes(p))]);
    setText('');
  };
  return (
    <div class="email-field">
      <span id={`lbl-${label}`}>{label}</span>
      <div class="email-chips" role="group" aria-labelledby={`lbl-${label}`}>
        {value.map((a) => {
          const ok = !!parseAddress(a);
          return (
            <span key={a} class={`email-chip${ok ? '' : ' is-invalid'}`} data-testid="email-chip" aria-invalid={!ok}>
              {a}
              {!ok && <span class="sr-only"> {t('email.chip_invalid')}</span>}
              <button type="button" aria-label={t('email.remove_address', { address: a })} onClick={() => onChange(value.filter((x) => x !== a))}>
                ✕
              </button>
            </span>
          );
        })}
        <input
          type="text"
          aria-label={label}
          value={text}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            if (/[,;]\s*$/.test(v)) commit(v);
            else setText(v);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && text.trim()) {
              e.preventDefault();
              commit(text);
            }
            if (e.key === 'Backspace' && !text && value.length) onChange(value.slice(0, -1));
          }}
          onBlur={() => text.trim() && commit(text)}
        />
      </div>
    </div>
  );
}
