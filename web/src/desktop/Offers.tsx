import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { api, ApiError, type Task } from '../lib/api';
import { useNow, useSession } from '../app/session';
import type { Lookup } from './Desktop';

export function Offers(props: { offers: Task[]; lookup: Lookup; onAnswered: (task: Task, result: Task | null) => void }) {
  return (
    <section class="panel offers" aria-labelledby="offers-heading">
      <h2 id="offers-heading">{t('offer.region')}</h2>
      <div aria-live="assertive" aria-relevant="additions" class="offer-list" data-testid="offers">
        {props.offers.length === 0 && <p class="empty">{t('offer.none')}</p>}
        {props.offers.map((o) => (
          <OfferCard key={o.id} task={o} lookup={props.lookup} onAnswered={props.onAnswered} />
        ))}
      </div>
    </section>
  );
}

function OfferCard({ task, lookup, onAnswered }: { task: Task; lookup: Lookup; onAnswered: (task: Task, result: Task | null) => void }) {
  const { fmt } = useSession();
  const now = useNow(250);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const channel = t(`channel.${task.channel}`);
  const queue = lookup.queueName(task.queue_id);
  const offered = task.offered_at ? Date.parse(task.offered_at) : now;
  const deadline = task.offer_deadline ? Date.parse(task.offer_deadline) : 0;
  const left = deadline ? Math.max(0, (deadline - now) / 1000) : 0;
  const total = deadline ? Math.max(1, (deadline - offered) / 1000) : 1;
  const waited = (now - Date.parse(task.enqueued_at)) / 1000;
  const titleId = `offer-${task.id}`;

  const answer = async (verb: 'accept' | 'reject') => {
    setBusy(true);
    setError('');
    try {
      const r = await api<Task>('POST', `/tasks/${task.id}/${verb}`);
      onAnswered(task, r ?? null);
    } catch (e) {
      setError(t('offer.failed', { reason: e instanceof ApiError ? e.message : t('error.network') }));
      setBusy(false);
    }
  };

  return (
    <article class={`offer channel-${task.channel}`} aria-labelledby={titleId} data-testid="offer" data-task-id={task.id}>
      <header class="offer-head">
        <span class={`channel-icon ch-${task.channel}`} aria-hidden="true" />
        <h3 id={titleId}>{t('offer.title', { channel })}</h3>
        <span class={`countdown${left <= 5 ? ' urgent' : ''}`} role="timer" aria-label={t('offer.expires')} data-testid="offer-countdown">
          {deadline ? (left > 0 ? fmt.duration(Math.ceil(left)) : t('offer.expired')) : '—'}
        </span>
      </header>
      <progress class="offer-progress" max={total} value={left} aria-label={t('offer.expires')} />
      <dl class="facts">
        <div>
          <dt>{t('offer.queue')}</dt>
          <dd data-testid="offer-queue">{queue}</dd>
        </div>
        <div>
          <dt>{t('offer.customer')}</dt>
          <dd>{lookup.customer(task)}</dd>
        </div>
        <div>
          <dt>{t('offer.wait')}</dt>
          <dd>{fmt.duration(waited)}</dd>
        </div>
      </dl>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="btn btn-primary" disabled={busy} aria-label={t('offer.accept_named', { channel, queue })} onClick={() => answer('accept')}>
          {t('offer.accept')}
        </button>
        <button type="button" class="btn" disabled={busy} aria-label={t('offer.reject_named', { channel, queue })} onClick={() => answer('reject')}>
          {t('offer.reject')}
        </button>
      </div>
    </article>
  );
}
