// The widget's UI: a launcher button and the panel. Everything from the
// server is rendered as text nodes (Preact never sets innerHTML here).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, Message } from './api';
import type { Chat, Upload, View } from './chat';
import { colour, formatBytes, npsBand, textOn } from './core';
import { languageNames, languages, translate } from './i18n';
import type { Key, Lang } from './i18n';

type T = (key: Key, vars?: Record<string, string | number>) => string;

function useView(chat: Chat): View {
  const [v, setV] = useState(chat.view);
  useEffect(() => {
    setV(chat.view);
    return chat.subscribe(setV);
  }, [chat]);
  return v;
}

export function Widget({ chat, position }: { chat: Chat; position: string | null }) {
  const v = useView(chat);
  const t: T = (key, vars) => translate(v.lang, key, vars);
  const launcher = useRef<HTMLButtonElement>(null);
  // Only a visitor's click moves the keyboard into the panel; a panel
  // reopened by a reload must not steal focus from the page.
  const [grab, setGrab] = useState(false);
  const side = (position ?? v.config?.theme.position) === 'left' ? 'left' : 'right';
  const primary = colour(v.config?.theme.primary_color);
  const close = () => {
    chat.setOpen(false);
    launcher.current?.focus();
  };
  return (
    <div class={`root ${side}`} lang={v.lang} style={{ '--primary': primary, '--on-primary': textOn(primary) }}>
      {v.open && <Panel chat={chat} v={v} t={t} grab={grab} onClose={close} />}
      <button
        ref={launcher}
        type="button"
        class="launcher"
        aria-label={v.open ? t('launcher.close') : t('launcher.open')}
        aria-expanded={v.open}
        onClick={() => {
          if (v.open) close();
          else {
            setGrab(true);
            chat.setOpen(true);
          }
        }}
      >
        {v.open ? <CloseIcon /> : <ChatIcon />}
        {!v.open && v.unread > 0 && (
          <span class="badge" aria-label={t('launcher.unread', { count: v.unread })}>
            {v.unread}
          </span>
        )}
      </button>
    </div>
  );
}

function Panel({ chat, v, t, grab, onClose }: { chat: Chat; v: View; t: T; grab: boolean; onClose: () => void }) {
  const body = useRef<HTMLDivElement>(null);
  // Opening the panel, or moving to the next step while working in it, puts
  // the keyboard on the step's first field.
  useEffect(() => {
    const root = body.current?.getRootNode() as ShadowRoot | undefined;
    if (!grab && !root?.activeElement) return;
    const b = body.current;
    const el = (v.phase === 'chat' && b?.querySelector('textarea')) || b?.querySelector<HTMLElement>('input:not(.hidden), textarea, select, button');
    el?.focus();
  }, [v.phase, grab]);
  const logo = v.config?.theme.logo_url;
  return (
    <section
      class="panel"
      role="dialog"
      aria-labelledby="atende-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <header class="head">
        {logo && /^https:\/\//.test(logo) && <img class="logo" src={logo} alt="" />}
        <div class="titles">
          <h2 id="atende-title">{t('panel.title')}</h2>
          <Subtitle v={v} t={t} />
        </div>
        <select
          class="lang"
          aria-label={t('panel.language')}
          value={v.lang}
          onChange={(e) => chat.setLang((e.target as HTMLSelectElement).value as Lang)}
        >
          {languages.map((l) => (
            <option value={l} key={l}>
              {languageNames[l]}
            </option>
          ))}
        </select>
        <button type="button" class="icon" aria-label={t('panel.minimize')} onClick={onClose}>
          <MinIcon />
        </button>
      </header>
      <div class="body" ref={body}>
        <Phase chat={chat} v={v} t={t} />
      </div>
    </section>
  );
}

function Subtitle({ v, t }: { v: View; t: T }) {
  if (v.phase !== 'chat') return null;
  let text: string;
  if (v.reconnecting && !v.connected) text = t('conn.reconnecting');
  else if (v.state === 'assigned') text = t('agent.joined', { name: v.agent || t('agent.someone') });
  else if (v.position && v.position.position > 0) {
    const minutes = Math.ceil(v.position.ewt_sec / 60);
    text = minutes > 0 ? t('queue.position_wait', { position: v.position.position, minutes }) : t('queue.position', { position: v.position.position });
  } else text = t('queue.waiting');
  return (
    <p class="sub" data-testid="status" aria-live="polite">
      {text}
    </p>
  );
}

function Phase({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  switch (v.phase) {
    case 'loading':
    case 'ending':
      return <p class="note pad">{t('panel.loading')}</p>;
    case 'unavailable':
      return <p class="note pad">{t('panel.unavailable')}</p>;
    case 'closed':
      return <p class="note pad">{t('offline.closed')}</p>;
    case 'prechat':
      return <PreChat chat={chat} v={v} t={t} />;
    case 'offline':
      return <OfflineForm chat={chat} v={v} t={t} />;
    case 'offline_sent':
      return (
        <p class="note done pad" role="status" data-testid="offline-sent">
          {t('offline.sent', { protocol: v.protocol ?? '' })}
        </p>
      );
    case 'chat':
      return <Conversation chat={chat} v={v} t={t} />;
    case 'csat':
      return <Csat chat={chat} v={v} t={t} />;
    case 'nps':
      return <Nps chat={chat} v={v} t={t} />;
    case 'thanks':
      return (
        <div class="thanks" role="status">
          <h3>{t('thanks.title')}</h3>
          <p>{t('thanks.body')}</p>
          <button type="button" class="primary" onClick={() => chat.newChat()}>
            {t('thanks.new')}
          </button>
        </div>
      );
  }
}

function ErrorLine({ v, t }: { v: View; t: T }) {
  return v.error ? (
    <p class="error" role="alert">
      {t(v.error as Key)}
    </p>
  ) : null;
}

function Privacy({ v }: { v: View }) {
  return v.config?.privacy_text ? <p class="privacy">{v.config.privacy_text}</p> : null;
}

function PreChat({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const pc = v.config?.pre_chat;
  const [name, setName] = useState(v.name);
  const [email, setEmail] = useState(v.email);
  const [consent, setConsent] = useState(false);
  return (
    <form
      class="form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        chat.startChat({ name, email, consent });
      }}
    >
      <p class="note">{t('prechat.intro')}</p>
      {pc?.ask_name && (
        <label>
          {t('prechat.name')}
          <input type="text" autocomplete="name" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
      )}
      {pc?.ask_email && (
        <label>
          {t('prechat.email')}
          <input type="email" autocomplete="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
      )}
      {pc?.consent_required && (
        <>
          <Privacy v={v} />
          <label class="check">
            <input type="checkbox" required checked={consent} onChange={(e) => setConsent((e.target as HTMLInputElement).checked)} />
            {t('prechat.consent')}
          </label>
        </>
      )}
      <ErrorLine v={v} t={t} />
      <button type="submit" class="primary" disabled={v.busy}>
        {v.busy ? t('prechat.starting') : t('prechat.start')}
      </button>
    </form>
  );
}

function OfflineForm({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const [name, setName] = useState(v.name);
  const [email, setEmail] = useState(v.email);
  const [message, setMessage] = useState('');
  const [consent, setConsent] = useState(false);
  const consentNeeded = !!v.config?.pre_chat.consent_required;
  return (
    <form
      class="form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        chat.leaveMessage({ name, email, message, consent });
      }}
    >
      <h3>{t('offline.title')}</h3>
      <p class="note">{t('offline.intro')}</p>
      <label>
        {t('offline.name')}
        <input type="text" autocomplete="name" maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t('offline.email')}
        <input type="email" autocomplete="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        {t('offline.message')}
        <textarea required rows={4} maxLength={4000} value={message} onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)} />
      </label>
      {consentNeeded && (
        <>
          <Privacy v={v} />
          <label class="check">
            <input type="checkbox" required checked={consent} onChange={(e) => setConsent((e.target as HTMLInputElement).checked)} />
            {t('prechat.consent')}
          </label>
        </>
      )}
      <ErrorLine v={v} t={t} />
      <button type="submit" class="primary" disabled={v.busy}>
        {t('offline.send')}
      </button>
    </form>
  );
}

function Conversation({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const list = useRef<HTMLOListElement>(null);
  const count = v.messages.length + v.outbox.length + v.uploads.length;
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count, v.agentTyping]);
  const time = new Intl.DateTimeFormat(v.lang, { hour: 'numeric', minute: '2-digit' });
  return (
    <div class="chat">
      <ol class="messages" ref={list} aria-label={t('msg.list')} aria-live="polite">
        {count === 0 && <li class="empty">{t('msg.empty')}</li>}
        {v.messages.map((m) => (
          <Bubble key={m.seq} chat={chat} m={m} v={v} t={t} time={time} />
        ))}
        {v.outbox.map((o) => (
          <li key={o.client_id} class="me pending" data-testid="msg" data-state="pending">
            <div class="bubble">{o.body}</div>
            <div class="meta">
              <time>{time.format(new Date(o.at))}</time>
              <span class="mark" aria-label={t('msg.pending')} title={t('msg.pending')}>
                ◷
              </span>
            </div>
          </li>
        ))}
        {v.uploads.map((u) => (
          <UploadLine key={u.client_id} chat={chat} u={u} v={v} t={t} />
        ))}
      </ol>
      {v.agentTyping && (
        <p class="typing" data-testid="agent-typing">
          {t('agent.typing', { name: v.agent || t('agent.someone') })}
        </p>
      )}
      <ErrorLine v={v} t={t} />
      <Composer chat={chat} v={v} t={t} />
      <Actions chat={chat} v={v} t={t} />
    </div>
  );
}

function Bubble({ chat, m, v, t, time }: { chat: Chat; m: Message; v: View; t: T; time: Intl.DateTimeFormat }) {
  const mine = m.author === 'visitor';
  const read = mine && m.seq <= v.agentReadSeq;
  // A file sent alone has its names as the body: the files say it already.
  const names = m.attachments?.map((a) => a.name).join(', ');
  const body = names && m.body === names ? '' : m.body;
  return (
    <li class={mine ? 'me' : 'them'} data-testid="msg" data-seq={m.seq} data-state={mine ? (read ? 'read' : 'delivered') : 'received'}>
      {!mine && <span class="who">{v.agent || t('agent.someone')}</span>}
      <div class="bubble">
        {body}
        {m.attachments?.map((a) => (
          <AttachmentView key={a.id} chat={chat} a={a} v={v} t={t} />
        ))}
      </div>
      <div class="meta">
        <time dateTime={m.at}>{time.format(new Date(m.at))}</time>
        {mine && (
          <span class={read ? 'mark read' : 'mark'} aria-label={read ? t('msg.read') : t('msg.delivered')} title={read ? t('msg.read') : t('msg.delivered')}>
            {read ? '✓✓' : '✓'}
          </span>
        )}
      </div>
    </li>
  );
}

const thumbTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

function AttachmentView({ chat, a, v, t }: { chat: Chat; a: Attachment; v: View; t: T }) {
  if (thumbTypes.includes(a.content_type)) {
    return (
      <a class="thumb" href={chat.api.fileURL(a.id)} target="_blank" rel="noopener noreferrer">
        <img src={chat.api.fileURL(a.id)} alt={a.name} loading="lazy" />
      </a>
    );
  }
  return (
    <a class="file" href={chat.api.fileURL(a.id, true)} target="_blank" rel="noopener noreferrer" aria-label={t('file.download', { name: a.name })}>
      <span class="fname">{a.name}</span> <span class="fsize">{formatBytes(a.size, v.lang)}</span>
    </a>
  );
}

function UploadLine({ chat, u, v, t }: { chat: Chat; u: Upload; v: View; t: T }) {
  const max = formatBytes(u.max ?? 0, v.lang);
  const text = u.error === 'too_large' ? t('file.too_large', { name: u.name, max }) : u.error === 'bad_type' ? t('file.bad_type', { name: u.name })
    : u.error ? t('file.failed', { name: u.name }) : t('file.uploading', { name: u.name });
  return (
    <li class={u.error ? 'me failed' : 'me pending'} data-testid="upload">
      <div class="bubble">{text}</div>
      {u.error && (
        <button type="button" class="link" onClick={() => chat.dismissUpload(u.client_id)} aria-label={t('transcript.cancel')}>
          ×
        </button>
      )}
    </li>
  );
}

function Composer({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const [text, setText] = useState('');
  const file = useRef<HTMLInputElement>(null);
  const uploads = v.config?.uploads;
  const submit = () => {
    if (!text.trim()) return;
    chat.send(text);
    setText('');
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {uploads && uploads.max_bytes > 0 && (
        <>
          <input
            ref={file}
            type="file"
            class="hidden"
            tabIndex={-1}
            aria-hidden="true"
            accept={(uploads.mime_types ?? []).join(',')}
            onChange={(e) => {
              const input = e.target as HTMLInputElement;
              for (const f of Array.from(input.files ?? [])) chat.upload(f);
              input.value = '';
            }}
          />
          <button type="button" class="icon attach" aria-label={t('file.attach')} title={t('file.attach')} onClick={() => file.current?.click()}>
            <ClipIcon />
          </button>
        </>
      )}
      <textarea
        rows={1}
        maxLength={4000}
        aria-label={t('composer.label')}
        placeholder={t('composer.placeholder')}
        value={text}
        onInput={(e) => {
          const value = (e.target as HTMLTextAreaElement).value;
          setText(value);
          chat.clearError();
          if (value.trim()) chat.typing.input();
          else chat.typing.stop();
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
      />
      <button type="submit" class="icon send" aria-label={t('composer.send')} title={t('composer.send')}>
        <SendIcon />
      </button>
    </form>
  );
}

function Actions({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const [mode, setMode] = useState<'' | 'transcript' | 'end'>('');
  const [email, setEmail] = useState(v.email);
  if (mode === 'end') {
    return (
      <div class="actions confirm" role="group" aria-label={t('end.confirm')}>
        <span>{t('end.confirm')}</span>
        <button type="button" class="danger" disabled={v.busy} onClick={() => chat.end()}>
          {t('end.yes')}
        </button>
        <button type="button" class="link" onClick={() => setMode('')}>
          {t('end.no')}
        </button>
      </div>
    );
  }
  if (mode === 'transcript') {
    return (
      <form
        class="actions transcript"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await chat.transcript(email)) setMode('');
        }}
      >
        <label>
          {t('transcript.email')}
          <input type="email" autocomplete="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary small" disabled={v.busy}>
          {t('transcript.send')}
        </button>
        <button type="button" class="link" onClick={() => setMode('')}>
          {t('transcript.cancel')}
        </button>
      </form>
    );
  }
  return (
    <div class="actions">
      {v.transcriptSentTo && (
        <p class="note done" role="status">
          {t('transcript.sent', { email: v.transcriptSentTo })}
        </p>
      )}
      {v.config?.transcript && (
        <button type="button" class="link" onClick={() => setMode('transcript')}>
          {t('transcript.button')}
        </button>
      )}
      <button type="button" class="link end" onClick={() => setMode('end')}>
        {t('end.button')}
      </button>
    </div>
  );
}

function Csat({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState('');
  return (
    <form
      class="form csat"
      onSubmit={(e) => {
        e.preventDefault();
        chat.csat(score, comment);
      }}
    >
      <h3>{t('ended.title')}</h3>
      <fieldset>
        <legend>{t('csat.question')}</legend>
        <div class="stars">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} class={n <= score ? 'star on' : 'star'}>
              <input type="radio" name="score" value={n} checked={score === n} aria-label={t('csat.star', { count: n })} onChange={() => setScore(n)} />
              <span aria-hidden="true">★</span>
            </label>
          ))}
        </div>
      </fieldset>
      <label>
        {t('csat.comment')}
        <textarea rows={3} maxLength={4000} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
      </label>
      <ErrorLine v={v} t={t} />
      <div class="row">
        <button type="submit" class="primary" disabled={v.busy || score === 0}>
          {t('csat.send')}
        </button>
        <button type="button" class="link" onClick={() => chat.csat(0, '')}>
          {t('csat.skip')}
        </button>
      </div>
    </form>
  );
}

function Nps({ chat, v, t }: { chat: Chat; v: View; t: T }) {
  const [score, setScore] = useState(-1);
  const [comment, setComment] = useState('');
  // The tenant's question when it is in the language shown, else ours.
  const q = v.survey?.language === v.lang && v.survey.questions.nps ? v.survey.questions.nps : t('nps.question');
  return (
    <form
      class="form nps"
      onSubmit={(e) => {
        e.preventDefault();
        chat.answer('nps', score, comment);
      }}
    >
      {!v.survey?.kinds.includes('csat') && <h3>{t('ended.title')}</h3>}
      <fieldset>
        <legend>{q}</legend>
        <div class="scale">
          {[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => (
            <label key={n} class={n === score ? `pick on ${npsBand(n)}` : 'pick'}>
              <input type="radio" name="nps" value={n} checked={score === n} aria-label={t('nps.score', { count: n })} onChange={() => setScore(n)} />
              <span aria-hidden="true">{n}</span>
            </label>
          ))}
        </div>
        <div class="ends" aria-hidden="true">
          <span>{t('nps.low')}</span>
          <span>{t('nps.high')}</span>
        </div>
      </fieldset>
      <label>
        {t('nps.comment')}
        <textarea rows={2} maxLength={4000} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
      </label>
      <ErrorLine v={v} t={t} />
      <div class="row">
        <button type="submit" class="primary" disabled={v.busy || score < 0}>
          {t('csat.send')}
        </button>
        <button type="button" class="link" onClick={() => chat.answer('nps', -1, '')}>
          {t('csat.skip')}
        </button>
      </div>
    </form>
  );
}

// Icons are plain SVG elements (no markup strings).
const svg = { width: 24, height: 24, viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' } as const;

function ChatIcon() {
  return (
    <svg {...svg}>
      <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" />
    </svg>
  );
}
function CloseIcon() {
  return (
    <svg {...svg}>
      <path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M6 6l12 12M18 6L6 18" />
    </svg>
  );
}
function MinIcon() {
  return (
    <svg {...svg}>
      <path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M6 12h12" />
    </svg>
  );
}
function SendIcon() {
  return (
    <svg {...svg}>
      <path fill="currentColor" d="M3 20.5 21 12 3 3.5 3 10l12 2-12 2z" />
    </svg>
  );
}
function ClipIcon() {
  return (
    <svg {...svg}>
      <path
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10 17.5a2 2 0 0 1-3-3l7.5-7.5"
      />
    </svg>
  );
}
