import { t } from '../i18n';
import type { Task } from '../lib/api';
import { useNow, useSession } from '../app/session';
import type { Lookup } from './Desktop';

export function MyTasks({ tasks, lookup, onOpen }: { tasks: Task[]; lookup: Lookup; onOpen: (task: Task) => void }) {
  const { fmt } = useSession();
  const now = useNow();
  return (
    <section class="panel tasks" aria-labelledby="tasks-heading">
      <div class="panel-head">
        <h2 id="tasks-heading">{t('tasks.title')}</h2>
        <span class="pill">{t('tasks.count', { count: fmt.number(tasks.length) })}</span>
      </div>
      {tasks.length === 0 ? (
        <p class="empty">{t('tasks.empty')}</p>
      ) : (
        <table data-testid="my-tasks">
          <thead>
            <tr>
              <th scope="col">{t('tasks.channel')}</th>
              <th scope="col">{t('tasks.queue')}</th>
              <th scope="col">{t('tasks.customer')}</th>
              <th scope="col">{t('tasks.accepted')}</th>
              <th scope="col" class="num">
                {t('tasks.duration')}
              </th>
              <th scope="col">
                <span class="sr-only">{t('tasks.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((task) => (
              <tr key={task.id} data-task-id={task.id}>
                <td>
                  <span class={`channel-icon ch-${task.channel}`} aria-hidden="true" /> {t(`channel.${task.channel}`)}
                </td>
                <td>{lookup.queueName(task.queue_id)}</td>
                <td>{lookup.customer(task)}</td>
                <td>{task.accepted_at ? fmt.time(task.accepted_at) : '—'}</td>
                <td class="num">{task.accepted_at ? fmt.duration((now - Date.parse(task.accepted_at)) / 1000) : '—'}</td>
                <td class="num">
                  {task.conversation_id && (
                    <button type="button" class="btn btn-small" aria-label={t('tasks.open_named', { customer: lookup.customer(task) })} onClick={() => onOpen(task)}>
                      {t('tasks.open')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
