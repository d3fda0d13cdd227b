// Writing to the customer (or an internal note): Enter sends, Shift+Enter is
// a new line; "/" + a shortcut or the picker inserts a canned response
// rendered by the server for this conversation; files are uploaded first
// (POST /media) and sent with the message; a small built-in emoji set.
import { useEffect, useRef, useState } from 'preact/hooks';
import { language, t } from '../i18n';
import { api, errorText, upload, type CannedResponse, type Media } from '../lib/api';
import { useSession } from '../app/session';
import { emoji } from './emoji';
import { filterCanned, slashQuery, TypingSignal } from './model';
import { useWorkspace } from './workspace';

const maxFiles = 10;
const maxBytes = 25 * 1024 * 1024;

interface Upload {
  key: string;
  name: string;
  size: number;
  media?: Media;
  error?: string;
}

export function Composer(props: {
  conversationId: string;
  /** Chat conversations get typing signals. */
  chat: boolean;
  disabled?: boolean;
  /** Only internal notes (email conversations are answered from the email itself). */
  notesOnly?: boolean;
  onSend: (kind: 'message' | 'note', body: string, attachments: Media[]) => void;
}) {
  const { fmt } = useSession();
  const ws = useWorkspace();
  const lang = language();
  const area = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [noteChosen, setNote] = useState(false);
  const note = noteChosen || !!props.notesOnly;
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [slash, setSlash] = useState<{ start: number; query: string } | null>(null);
  const [pick, setPick] = useState(0);
  const [panel, setPanel] = useState<'canned' | 'emoji' | null>(null);
  const [search, setSearch] = useState('');
  const [error, setError] = useState('');
  const typing = useRef<TypingSignal | null>(null);
  const id = props.conversationId;

  useEffect(() => {
    typing.current = new TypingSignal((v) => {
      api('POST', `/conversations/${id}/typing`, { typing: v }).catch(() => {});
    });
    return () => typing.current?.stop();
  }, [id]);

  const suggestions = slash ? filterCanned(ws.canned, slash.query, lang).slice(0, 8) : [];
  const listId = `canned-suggest-${id}`;

  const update = (value: string, caret: number) => {
    setText(value);
    const q = slashQuery(value, caret);
    setSlash(q && ws.canned.length ? q : null);
    setPick(0);
    if (props.chat && !note && value.trim()) typing.current?.input();
  };

  const insertAt = (start: number, end: number, insert: string) => {
    const el = area.current;
    const value = text.slice(0, start) + insert + text.slice(end);
    setText(value);
    setSlash(null);
    requestAnimationFrame(() => {
      if (!el) return;
      el.focus();
      const at = start + insert.length;
      el.setSelectionRange(at, at);
    });
  };

  const useCanned = async (c: CannedResponse, range?: { start: number; end: number }) => {
    const el = area.current;
    const start = range?.start ?? el?.selectionStart ?? text.length;
    const end = range?.end ?? el?.selectionEnd ?? text.length;
    let body = c.body;
    try {
      body = (await api<{ body: string }>('POST', `/canned-responses/${c.id}/render`, { conversation_id: id })).body;
    } catch {
      /* the text as written, variables and all, is better than nothing */
    }
    insertAt(start, end, body);
    setPanel(null);
  };

  const addFiles = async (files: FileList | File[]) => {
    setError('');
    for (const f of Array.from(files)) {
      if (uploads.length >= maxFiles) {
        setError(t('attach.too_many', { count: maxFiles }));
        break;
      }
      if (f.size > maxBytes) {
        setError(t('attach.too_large', { name: f.name, size: fmt.bytes(maxBytes) }));
        continue;
      }
      const key = `${f.name}-${f.size}-${Math.random()}`;
      setUploads((u) => [...u, { key, name: f.name, size: f.size }]);
      try {
        const media = await upload<Media>(`/media?name=${encodeURIComponent(f.name)}`, f);
        setUploads((u) => u.map((x) => (x.key === key ? { ...x, media } : x)));
      } catch (e) {
        setUploads((u) => u.map((x) => (x.key === key ? { ...x, error: errorText(e, t('error.network')) } : x)));
      }
    }
  };

  const uploading = uploads.some((u) => !u.media && !u.error);
  const send = () => {
    const ready = uploads.filter((u) => u.media).map((u) => u.media!);
    if (props.disabled || uploading || (!text.trim() && ready.length === 0)) return;
    props.onSend(note ? 'note' : 'message', text.trim(), ready);
    typing.current?.stop();
    setText('');
    setUploads([]);
    setSlash(null);
    setError('');
  };

  const onKey = (e: KeyboardEvent) => {
    if (slash && suggestions.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setPick((p) => (p + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        const caret = area.current?.selectionStart ?? text.length;
        useCanned(suggestions[pick]!, { start: slash.start, end: caret });
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setSlash(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const listed = filterCanned(ws.canned, search, lang);
  const inputLabel = note ? t('composer.note_input') : t('composer.message');
  return (
    <div class={`composer${note ? ' composer-note' : ''}`} data-testid="composer">
      {slash && suggestions.length > 0 && (
        <ul class="suggest" id={listId} role="listbox" aria-label={t('composer.canned')}>
          {suggestions.map((c, i) => (
            <li
              key={c.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === pick}
              class={i === pick ? 'picked' : ''}
              onMouseDown={(ev) => {
                ev.preventDefault();
                const caret = area.current?.selectionStart ?? text.length;
                useCanned(c, { start: slash.start, end: caret });
              }}
            >
              <span class="shortcut">/{c.shortcut}</span> <span class="canned-title">{c.title}</span>
              <span class="muted canned-body">{c.body}</span>
            </li>
          ))}
        </ul>
      )}
      {panel === 'canned' && (
        <div class="popover canned-picker" role="dialog" aria-label={t('composer.canned')}>
          <input
            type="search"
            autoFocus
            value={search}
            aria-label={t('composer.canned_search')}
            placeholder={t('composer.canned_search')}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => e.key === 'Escape' && (setPanel(null), area.current?.focus())}
          />
          {listed.length === 0 ? (
            <p class="muted">{t('composer.canned_none')}</p>
          ) : (
            <ul class="canned-list">
              {listed.map((c) => (
                <li key={c.id}>
                  <button type="button" onClick={() => useCanned(c)} aria-label={t('composer.canned_use', { title: c.title })}>
                    <span class="shortcut">/{c.shortcut}</span> <span class="canned-title">{c.title}</span>
                    {c.scope === 'personal' && <span class="pill">{t('composer.personal')}</span>}
                    <span class="muted canned-body">{c.body}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {panel === 'emoji' && (
        <div class="popover emoji-picker" role="dialog" aria-label={t('composer.emoji')} onKeyDown={(e) => e.key === 'Escape' && (setPanel(null), area.current?.focus())}>
          {emoji.map(([ch, name]) => (
            <button
              type="button"
              key={ch}
              aria-label={name}
              title={name}
              onClick={() => {
                const el = area.current;
                insertAt(el?.selectionStart ?? text.length, el?.selectionEnd ?? text.length, ch);
                setPanel(null);
              }}
            >
              {ch}
            </button>
          ))}
        </div>
      )}
      {uploads.length > 0 && (
        <ul class="upload-list" aria-label={t('attach.list')}>
          {uploads.map((u) => (
            <li key={u.key} class={u.error ? 'failed' : u.media ? '' : 'busy'}>
              <span class="file-name">{u.name}</span> <span class="muted">{fmt.bytes(u.size)}</span>
              {!u.media && !u.error && <span class="muted"> · {t('attach.uploading')}</span>}
              {u.error && <span class="error-text"> · {u.error}</span>}
              <button type="button" class="chip-x" aria-label={t('attach.remove', { name: u.name })} onClick={() => setUploads((l) => l.filter((x) => x.key !== u.key))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <textarea
        ref={area}
        rows={3}
        value={text}
        disabled={props.disabled}
        aria-label={inputLabel}
        placeholder={note ? t('composer.note_placeholder') : t('composer.placeholder')}
        aria-autocomplete="list"
        aria-controls={slash && suggestions.length ? listId : undefined}
        aria-activedescendant={slash && suggestions.length ? `${listId}-${pick}` : undefined}
        onInput={(e) => {
          const el = e.target as HTMLTextAreaElement;
          update(el.value, el.selectionStart);
        }}
        onKeyDown={onKey}
        onBlur={() => setTimeout(() => setSlash(null), 150)}
        onPaste={(e) => {
          const files = e.clipboardData?.files;
          if (files && files.length) {
            e.preventDefault();
            addFiles(files);
          }
        }}
      />
      <div class="composer-bar">
        {props.notesOnly ? (
          <span class="muted small">{t('composer.email_hint')}</span>
        ) : (
          <button
            type="button"
            class={`btn btn-small toggle${note ? ' on' : ''}`}
            aria-pressed={note}
            onClick={() => {
              setNote(!note);
              typing.current?.stop();
              area.current?.focus();
            }}
          >
            {t('composer.note_toggle')}
          </button>
        )}
        <button type="button" class="btn btn-small btn-icon" aria-label={t('composer.canned')} aria-expanded={panel === 'canned'} onClick={() => setPanel(panel === 'canned' ? null : 'canned')}>
          <span aria-hidden="true">⚡</span>
        </button>
        <button type="button" class="btn btn-small btn-icon" aria-label={t('composer.emoji')} aria-expanded={panel === 'emoji'} onClick={() => setPanel(panel === 'emoji' ? null : 'emoji')}>
          <span aria-hidden="true">☺</span>
        </button>
        <button type="button" class="btn btn-small btn-icon" aria-label={t('composer.attach')} onClick={() => fileInput.current?.click()}>
          <span aria-hidden="true">📎</span>
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          data-testid="attach-input"
          onChange={(e) => {
            const el = e.target as HTMLInputElement;
            if (el.files) addFiles(el.files);
            el.value = '';
          }}
        />
        <span class="muted hint">{t('composer.hint')}</span>
        <button type="button" class="btn btn-primary" disabled={props.disabled || uploading} onClick={send}>
          {note ? t('composer.add_note') : t('composer.send')}
        </button>
      </div>
    </div>
  );
}
