// Who the customer is: name, identities on every channel, the tenant's custom
// fields (labels from /contact-fields in the UI language), tags, and the
// facts of the conversation on screen.
import type { ComponentType } from 'preact';
import { useState } from 'preact/hooks';
import { language, t } from '../i18n';
import type { EmailComposerProps } from './email/EmailComposer';
import type { Contact, Conversation } from '../lib/api';
import { useSession } from '../app/session';
import { label } from './model';
import { useWorkspace } from './workspace';

const kindIcon: Record<string, string> = { email: '✉', phone: '☎', chat: '💬', social: '#' };

export function CustomerCard({ contact, conv }: { contact: Contact | null | undefined; conv: Conversation | null | undefined }) {
  const { fmt } = useSession();
  // A new email to the customer: the composer is loaded when asked for.
  const [Composer, setComposer] = useState<ComponentType<EmailComposerProps> | null>(null);
  const email = contact?.identities.find((i) => i.kind === 'email')?.value;
  const ws = useWorkspace();
  const lang = language();
  const name = contact?.name || t('offer.unknown_customer');
  const fields = ws.fields.filter((f) => contact && contact.fields?.[f.key] !== undefined && contact.fields[f.key] !== '');
  return (
    <section class="card customer" aria-labelledby={`customer-${conv?.id ?? ''}`} data-testid="customer-card">
      <div class="customer-head">
        <span class="avatar avatar-large" aria-hidden="true">
          {initials(name)}
        </span>
        <div>
          <h2 id={`customer-${conv?.id ?? ''}`}>{name}</h2>
          {contact?.language && <span class="muted">{t(`lang.${contact.language}` as 'lang.en') ?? contact.language}</span>}
        </div>
      </div>
      {contact && contact.identities.length > 0 && (
        <>
          <h3 class="card-h">{t('customer.identities')}</h3>
          <ul class="identities">
            {contact.identities.map((i) => (
              <li key={i.id}>
                <span class="id-kind" aria-hidden="true">
                  {kindIcon[i.kind] ?? '•'}
                </span>
                <span class="sr-only">{identityKind(i.kind)}: </span>
                <span class="id-value">{i.kind === 'chat' ? t('customer.chat_visitor') : i.value}</span>
                {i.network && <span class="muted"> · {i.network}</span>}
                {i.verified && (
                  <span class="verified" title={t('customer.verified')}>
                    {' '}
                    ✓<span class="sr-only">{t('customer.verified')}</span>
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {email && !Composer && (
        <button
          type="button"
          class="btn btn-small"
          onClick={() => import('./email/EmailComposer').then((m) => setComposer(() => m.EmailComposer))}
        >
          {t('customer.new_email')}
        </button>
      )}
      {email && Composer && <Composer mode="new" contactId={contact!.id} to={[email]} onCancel={() => setComposer(null)} />}
      {fields.length > 0 && (
        <>
          <h3 class="card-h">{t('customer.fields')}</h3>
          <dl class="fields">
            {fields.map((f) => (
              <div key={f.key}>
                <dt>{label(f.labels, lang, f.key)}</dt>
                <dd>{fieldValue(contact!.fields[f.key])}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
      {contact && contact.tags.length > 0 && (
        <>
          <h3 class="card-h">{t('customer.tags')}</h3>
          <ul class="tags" aria-label={t('customer.tags')}>
            {contact.tags.map((tag) => (
              <li key={tag} class="pill">
                {tag}
              </li>
            ))}
          </ul>
        </>
      )}
      {conv && (
        <>
          <h3 class="card-h">{t('customer.conversation')}</h3>
          <dl class="fields">
            <div>
              <dt>{t('customer.protocol')}</dt>
              <dd data-testid="protocol">{conv.protocol}</dd>
            </div>
            <div>
              <dt>{t('tasks.channel')}</dt>
              <dd>{t(`channel.${conv.channel}`)}</dd>
            </div>
            <div>
              <dt>{t('tasks.queue')}</dt>
              <dd>{ws.queueName(conv.queue_id)}</dd>
            </div>
            <div>
              <dt>{t('customer.status')}</dt>
              <dd>{t(`status.${conv.status}`)}</dd>
            </div>
            <div>
              <dt>{t('customer.started')}</dt>
              <dd>{fmt.dateTime(conv.created_at)}</dd>
            </div>
            {conv.tags.length > 0 && (
              <div>
                <dt>{t('customer.tags')}</dt>
                <dd>{conv.tags.join(', ')}</dd>
              </div>
            )}
          </dl>
        </>
      )}
    </section>
  );
}

function identityKind(kind: string): string {
  switch (kind) {
    case 'email':
      return t('customer.kind_email');
    case 'phone':
      return t('customer.kind_phone');
    case 'chat':
      return t('customer.kind_chat');
    case 'social':
      return t('customer.kind_social');
    default:
      return kind;
  }
}

function fieldValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? t('customer.yes') : t('customer.no');
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
}
