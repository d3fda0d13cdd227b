// Names for states and channels, and an agent's work in hand as channel
// icons with their text for screen readers.
import { t, type Key } from '../i18n';
import type { AgentStatus, Channel } from '../lib/api';
import { ChannelIcon } from './icons';
import { offeredChannels, type AgentView } from './model';

export const stateKey: Record<AgentStatus, Key> = {
  available: 'state.available',
  busy: 'state.busy',
  wrap_up: 'state.wrap_up',
  away: 'state.away',
  offline: 'state.offline',
};
export const channelKey: Record<Channel, Key> = {
  voice: 'channel.voice',
  chat: 'channel.chat',
  email: 'channel.email',
  sms: 'channel.sms',
  social: 'channel.social',
};

export function WorkIcons({ agent, queueName }: { agent: AgentView; queueName: (id: string) => string }) {
  const tasks = agent.tasks ?? [];
  const offers = offeredChannels(agent);
  if (tasks.length === 0 && offers.length === 0) return <span class="wb-none">{t('wallboard.no_work')}</span>;
  return (
    <ul class="wb-work" data-testid="wb-agent-work">
      {tasks.map((x) => {
        const label = t('wallboard.task', { channel: t(channelKey[x.channel]), queue: queueName(x.queue_id) || '—' });
        return (
          <li key={x.id} class={`wb-chan wb-chan-${x.channel}`} title={label}>
            <ChannelIcon channel={x.channel} />
            <span class="sr-only">{label}</span>
          </li>
        );
      })}
      {offers.map((ch, i) => {
        const label = t('wallboard.offered', { channel: t(channelKey[ch]) });
        return (
          <li key={'o' + i} class={`wb-chan wb-chan-${ch} wb-offered`} title={label}>
            <ChannelIcon channel={ch} />
            <span class="sr-only">{label}</span>
          </li>
        );
      })}
    </ul>
  );
}
