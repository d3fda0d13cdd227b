// Search: customers (GET /contacts?q=) and conversations (GET /conversations?q=,
// which also matches protocol numbers, subjects and the customer's name,
// email and phone).
//
// Props:
//   onOpen?  (conversationId: string) => void
//            the workspace opens the conversation in a tab; without it the
//            page shows a read-only view of the conversation's timeline
//            (GET /conversations/{id}/events) with emails rendered whole.
import { useEffect, useState } from 'preact/hooks';
import { t, useLanguage, type Key } from '../../i18n';
import { api, ApiError, type Contact, type Conversation, type Page, type TimelineEvent } from '../../lib/api';
import { useSession } from '../../app/session';
import { EmailMessage } from '../email/EmailMessage';
import './search.css';

export interface SearchProps {
  onOpen?: (conversationId: string) => void;
  /** Initial query (e.g. from the URL). */
  query?: string;
}

const protocolRe = /^\d{8}-\d{1,12}$/;

export function Search({ onOpen, query = '' }: SearchProps) {
  useLanguage();
  const { fmt, can } = useSession();
  const [q, setQ] = useState(query);
  const [asked, setAsked] = useState('');
  const [contacts, setContacts] = useState<Contact[] | null>(null);
  const [convs, setConvs] = useState<Conversation[] | null>(null);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<string | null>(null);

  const run = async (text: string, contactId?: string) => {
    setError('');
    setOpen(null);
    const v = text.trim();
    if (!v && !contactId) return;
    setAsked(contactId ? '' : v);
    const enc = encodeURIComponent(v);
    try {
      const convPath = contactId
        ? `/conversations?contact_id=${encodeURIComponent(contactId)}&limit=50`
        : protocolRe.test(v)
          ? `/conversations?protocol=${enc}&limit=50`
          : `/conversations?q=${enc}&limit=50`;
      const [cs, vs] = await Promise.all([
        contactId || !can('contacts:read') ? Promise.resolve(null) : api<Page<Contact>>('GET', `/contacts?q=${enc}&limit=20`),
        api<Page<Conversation>>('GET', convPath),
      ]);
      if (cs) setContacts(cs.items);
      setConvs(vs.items);
    } catch (e) {
      setError(e instanceof ApiError ? (e.problem?.detail ?? e.message) : t('search.network_error'));
    }
  };
  useEffect(() => {
    if (query) run(query);
  }, [query]);

  const openConv = (id: string) => (onOpen ? onOpen(id) : setOpen(id));
  const identity = (c: Contact) => c.identities.map((i) => i.value).join(', ');

  return (
    <div class="search" data-testid="search">
      <form
        class="search-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          run(q);
        }}
      >
        <input type="search" value={q} aria-label={t('search.label')} placeholder={t('search.placeholder')} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        <button type="submit" class="btn btn-primary">
          {t('search.submit')}
        </button>
      </form>
      {error && (
        <p role="alert" class="email-error">
          {error}
        </p>
      )}
      {open ? (
        <ConversationReadOnly id={open} onBack={() => setOpen(null)} />
      ) : (
        (contacts || convs) && (
          <div class="search-results">
            {contacts && (
              <section aria-labelledby="search-contacts">
                <h2 id="search-contacts">{t('search.contacts')}</h2>
                {contacts.length === 0 ? (
                  <p class="empty">{t('search.none')}</p>
                ) : (
                  <ul class="search-contact-list">
                    {contacts.map((c) => (
                      <li key={c.id}>
                        <button type="button" class="btn-link" onClick={() => run('', c.id)} title={t('search.contact_history')}>
                          {c.name || identity(c)}
                        </button>{' '}
                        <span class="muted">{identity(c)}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            )}
            {convs && (
              <section aria-labelledby="search-convs">
                <h2 id="search-convs">{asked ? t('search.conversations_for', { query: asked }) : t('search.conversations')}</h2>
                {convs.length === 0 ? (
                  <p class="empty">{t('search.none')}</p>
                ) : (
                  <table class="search-table">
                    <thead>
                      <tr>
                        <th scope="col">{t('search.protocol')}</th>
                        <th scope="col">{t('search.channel')}</th>
                        <th scope="col">{t('search.subject')}</th>
                        <th scope="col">{t('search.status')}</th>
                        <th scope="col">{t('search.date')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {convs.map((c) => (
                        <tr key={c.id} data-testid="search-conversation">
                          <td>
                            <button type="button" class="btn-link" onClick={() => openConv(c.id)}>
                              {c.protocol}
                            </button>
                          </td>
                          <td>{t(`channel.${c.channel}` as Key)}</td>
                          <td>{c.subject || '—'}</td>
                          <td>{t(`status.${c.status}` as Key)}</td>
                          <td>
                            <time dateTime={c.created_at}>{fmt.dateTime(c.created_at)}</time>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
            )}
          </div>
        )
      )}
    </div>
  );
}

/** A conversation's timeline, read only, for when no workspace opens it. */
export function ConversationReadOnly({ id, onBack }: { id: string; onBack?: () => void }) {
  useLanguage();
  const { fmt } = useSession();
  const [conv, setConv] = useState<Conversation | null>(null);
  const [events, setEvents] = useState<TimelineEvent[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setEvents(null);
    api<Conversation>('GET', `/conversations/${id}`).then(setConv, () => {});
    (async () => {
      const all: TimelineEvent[] = [];
      let after = 0;
      for (let i = 0; i < 20; i++) {
        const page = await api<{ items: TimelineEvent[] }>('GET', `/conversations/${id}/events?after_seq=${after}&limit=500`);
        all.push(...page.items);
        if (page.items.length < 500) break;
        after = page.items[page.items.length - 1]!.seq;
      }
      setEvents(all);
    })().catch((e) => setError(e instanceof ApiError ? e.message : t('search.network_error')));
  }, [id]);
  return (
    <section class="search-view" aria-label={conv ? t('search.conversation', { protocol: conv.protocol }) : undefined} data-testid="search-view">
      {onBack && (
        <button type="button" class="btn btn-small" onClick={onBack}>
          {t('search.back')}
        </button>
      )}
      {conv && (
        <h2>
          {t('search.conversation', { protocol: conv.protocol })} <span class="pill">{t(`status.${conv.status}` as Key)}</span>
        </h2>
      )}
      {error && <p role="alert">{error}</p>}
      {events === null && !error && <p class="loading">{t('search.loading')}</p>}
      {events?.map((e) =>
        e.kind === 'message' && e.channel === 'email' ? (
          <EmailMessage key={e.id} event={e} />
        ) : (
          <div key={e.id} class="search-entry">
            <span class="muted">
              {fmt.dateTime(e.created_at)} · {e.kind}
              {e.channel ? ` · ${t(`channel.${e.channel}` as Key)}` : ''}
            </span>
            {e.body && <p class="email-text">{e.body}</p>}
          </div>
        ),
      )}
    </section>
  );
}
