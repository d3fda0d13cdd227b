// The agent desktop: state with its timer, incoming offers, assigned tasks.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { language, t, useLanguage } from '../i18n';
import { all, api, type AgentState, type AtendeEvent, type Conversation, type Queue, type ReasonCode, type Task } from '../lib/api';
import { useSession } from '../app/session';
import { Offers } from './Offers';
import { MyTasks } from './MyTasks';
import { StateSelector } from './StateSelector';
import { chime } from './chime';

export interface Lookup {
  queueName(id: string): string;
  customer(task: Task): string;
}

export function Desktop() {
  useLanguage();
  const { me, onEvent, onResync, fmt } = useSession();
  const userId = me.user.id;
  const [state, setState] = useState<AgentState | null>(null);
  const [reasons, setReasons] = useState<ReasonCode[]>([]);
  const [queues, setQueues] = useState<Map<string, string>>(new Map());
  const [offers, setOffers] = useState<Task[]>([]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [convs, setConvs] = useState<Map<string, Conversation | null>>(new Map());
  const asked = useRef(new Set<string>());

  const load = useCallback(() => {
    api<AgentState>('GET', `/users/${userId}/state`).then(setState, () => {});
    all<Task>(`/tasks?agent_id=${userId}&state=offered`).then(setOffers, () => {});
    all<Task>(`/tasks?agent_id=${userId}&state=assigned`).then(setTasks, () => {});
  }, [userId]);

  useEffect(() => {
    load();
    all<ReasonCode>('/reason-codes').then((r) => setReasons(r.filter((x) => x.active)), () => {});
    all<Queue>('/queues').then((qs) => setQueues(new Map(qs.map((q) => [q.id, q.name]))), () => {});
    return onResync(load);
  }, [load]);

  // Who the customer is: for now the conversation's protocol number.
  useEffect(() => {
    for (const task of [...offers, ...tasks]) {
      const id = task.conversation_id;
      if (!id || asked.current.has(id)) continue;
      asked.current.add(id);
      api<Conversation>('GET', `/conversations/${id}`).then(
        (c) => setConvs((m) => new Map(m).set(id, c)),
        () => setConvs((m) => new Map(m).set(id, null)),
      );
    }
  }, [offers, tasks]);

  useEffect(
    () =>
      onEvent((e: AtendeEvent) => {
        const agent = e.data.agent;
        if (e.type === 'agent.state_changed' && agent?.id === userId) {
          setState({ user_id: userId, status: agent.status, reason_code: agent.reason_code, since: agent.since });
          return;
        }
        const task = e.data.task;
        if (!task || !e.type.startsWith('task.')) return;
        const offeredToMe = task.state === 'offered' && task.agent_id === userId;
        const mine = task.state === 'assigned' && task.agent_id === userId;
        setOffers((os) => {
          const rest = os.filter((o) => o.id !== task.id);
          return offeredToMe ? [...rest, task] : rest;
        });
        setTasks((ts) => {
          const i = ts.findIndex((x) => x.id === task.id);
          if (mine) return i < 0 ? [...ts, task] : ts.map((x) => (x.id === task.id ? task : x));
          return i < 0 ? ts : ts.filter((x) => x.id !== task.id);
        });
        if (e.type === 'task.offered' && offeredToMe) chime();
      }),
    [userId],
  );

  const lookup: Lookup = {
    queueName: (id) => queues.get(id) ?? '—',
    customer: (task) => {
      if (!task.conversation_id) return t('offer.unknown_customer');
      const c = convs.get(task.conversation_id);
      return c ? t('offer.protocol', { protocol: c.protocol }) : t('offer.unknown_customer');
    },
  };

  const answered = (task: Task, result: Task | null) => {
    setOffers((os) => os.filter((o) => o.id !== task.id));
    if (result && result.state === 'assigned' && result.agent_id === userId) {
      setTasks((ts) => [...ts.filter((x) => x.id !== result.id), result]);
    }
  };

  return (
    <div class="desktop">
      <div class="desktop-head">
        <div>
          <h1>{t('desktop.greeting', { name: me.user.name.split(' ')[0] })}</h1>
          <p class="muted">{t('desktop.today', { date: fmt.date(new Date()) })}</p>
        </div>
        <StateSelector state={state} reasons={reasons} lang={language()} onChange={setState} />
      </div>
      <div class="desktop-grid">
        <Offers offers={offers} lookup={lookup} onAnswered={answered} />
        <MyTasks tasks={tasks} lookup={lookup} />
      </div>
    </div>
  );
}
