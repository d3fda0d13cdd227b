// The agent desktop: state with its timer, incoming offers, assigned tasks,
// and a workspace of tabs, one per open conversation (accepting an offer
// opens one). Alt+1..9 switch to a conversation tab, Alt+0 to the overview.
import type { ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { language, t, useLanguage } from '../i18n';
import {
  all,
  api,
  ApiError,
  type AgentState,
  type AgentStatus,
  type AtendeEvent,
  type CannedResponse,
  type Contact,
  type Conversation,
  type Disposition,
  type FieldDef,
  type Queue,
  type ReasonCode,
  type Task,
  type TimelineEvent,
  type User,
} from '../lib/api';
import { useSession } from '../app/session';
import { Offers } from './Offers';
import { MyTasks } from './MyTasks';
import { StateSelector } from './StateSelector';
import { WrapUp } from './WrapUp';
import { ConversationView } from './ConversationView';
import { chime } from './chime';
import { flashTitle, stopFlash } from './attention';
import { WorkspaceContext, type Person, type Workspace } from './workspace';

export interface Lookup {
  queueName(id: string): string;
  customer(task: Task): string;
}

/** What a tab shows: a conversation, and the task the agent holds for it. */
export interface Tab {
  conversationId: string;
  taskId?: string;
}

export interface ConvInfo {
  conv: Conversation | null;
  contact: Contact | null;
}

const HOME = 'home';
const SEARCH = 'search';

// The search page (web/src/desktop/search/), loaded when first opened.
type SearchProps = { onOpen?: (conversationId: string) => void };
const searchModules = import.meta.glob<{ Search: ComponentType<SearchProps> }>('./search/Search.tsx');
const loadSearch: (() => Promise<{ Search: ComponentType<SearchProps> }>) | undefined = Object.values(searchModules)[0];

function SearchPanel({ onOpen }: SearchProps) {
  const [View, setView] = useState<ComponentType<SearchProps> | null>(null);
  useEffect(() => {
    loadSearch?.().then(
      (m) => setView(() => m.Search),
      () => {},
    );
  }, []);
  return View ? <View onOpen={onOpen} /> : <p class="loading">{t('app.loading')}</p>;
}

function savedTabs(userId: string): { tabs: Tab[]; active: string } {
  try {
    const v = JSON.parse(sessionStorage.getItem(`atende.tabs.${userId}`) ?? 'null') as { tabs: Tab[]; active: string } | null;
    if (v && Array.isArray(v.tabs)) return { tabs: v.tabs.filter((x) => typeof x.conversationId === 'string'), active: v.active ?? HOME };
  } catch {
    /* nothing saved, or storage is off */
  }
  return { tabs: [], active: HOME };
}

export function Desktop() {
  useLanguage();
  const { me, onEvent, onResync, fmt, can } = useSession();
  const userId = me.user.id;
  const [state, setState] = useState<AgentState | null>(null);
  const [reasons, setReasons] = useState<ReasonCode[]>([]);
  const [queues, setQueues] = useState<Queue[]>([]);
  const [dispositions, setDispositions] = useState<Disposition[]>([]);
  const [fields, setFields] = useState<FieldDef[]>([]);
  const [canned, setCanned] = useState<CannedResponse[]>([]);
  const [people, setPeople] = useState<Map<string, Person>>(new Map([[userId, { id: userId, name: me.user.name }]]));
  const [offers, setOffers] = useState<Task[]>([]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [info, setInfo] = useState<Map<string, ConvInfo>>(new Map());
  const [tabs, setTabs] = useState<Tab[]>(() => savedTabs(userId).tabs);
  const [active, setActive] = useState<string>(() => savedTabs(userId).active);
  const [unread, setUnread] = useState<Map<string, number>>(new Map());
  const asked = useRef(new Set<string>());
  const searched = useRef(false); // keep the search page (and its query) once opened
  if (active === SEARCH) searched.current = true;
  const tabsRef = useRef(tabs);
  tabsRef.current = tabs;
  const activeRef = useRef(active);
  activeRef.current = active;
  const infoRef = useRef(info);
  infoRef.current = info;

  const load = useCallback(() => {
    api<AgentState>('GET', `/users/${userId}/state`).then(setState, () => {});
    all<Task>(`/tasks?agent_id=${userId}&state=offered`).then(setOffers, () => {});
    all<Task>(`/tasks?agent_id=${userId}&state=assigned`).then((ts) => {
      setTasks(ts);
      // Every chat the agent holds has a tab; tabs learn their task.
      setTabs((cur) => {
        const next = cur.map((tab) => ({ ...tab, taskId: ts.find((x) => x.conversation_id === tab.conversationId)?.id ?? tab.taskId }));
        for (const task of ts) {
          if (task.conversation_id && !next.some((x) => x.conversationId === task.conversation_id)) next.push({ conversationId: task.conversation_id, taskId: task.id });
        }
        return next;
      });
    }, () => {});
  }, [userId]);

  const loadCanned = useCallback(() => {
    api<{ items: CannedResponse[] }>('GET', '/canned-responses').then((r) => setCanned(r.items), () => setCanned([]));
  }, []);

  // Colleagues: every agent with their name and state (the transfer
  // targets; tasks:read), and for supervisors everyone's name. Agents only
  // hear of their own state changes, so this is reloaded when it matters
  // (the transfer dialog opens).
  const loadPeople = useCallback(
    () =>
      Promise.all([
        api<{ items: { id: string; name: string; status: AgentStatus }[] }>('GET', '/routing/agents').then((r) => r.items, () => []),
        can('users:read') ? all<User>('/users?active=true').catch(() => []) : Promise.resolve([] as User[]),
      ]).then(([agents, users]) => {
        const m = new Map<string, Person>([[userId, { id: userId, name: me.user.name }]]);
        for (const u of users) m.set(u.id, { id: u.id, name: u.name });
        for (const a of agents) m.set(a.id, { id: a.id, name: a.name, status: a.status });
        setPeople(m);
      }),
    [userId],
  );

  useEffect(() => {
    load();
    loadCanned();
    all<ReasonCode>('/reason-codes').then((r) => setReasons(r.filter((x) => x.active)), () => {});
    all<Queue>('/queues').then(setQueues, () => {});
    all<Disposition>('/dispositions').then((d) => setDispositions(d.filter((x) => x.active)), () => {});
    all<FieldDef>('/contact-fields').then(setFields, () => {});
    loadPeople();
    const stop = onResync(() => {
      load();
      loadPeople();
    });
    return stop;
  }, [load]);

  // Who the customer is: the conversation and its contact.
  const ensureInfo = useCallback((id: string) => {
    if (asked.current.has(id)) return;
    asked.current.add(id);
    api<Conversation>('GET', `/conversations/${id}`).then(
      (c) => {
        setInfo((m) => new Map(m).set(id, { conv: c, contact: m.get(id)?.contact ?? null }));
        api<Contact>('GET', `/contacts/${c.contact_id}`).then(
          (ct) => setInfo((m) => new Map(m).set(id, { conv: m.get(id)?.conv ?? c, contact: ct })),
          () => {},
        );
      },
      () => setInfo((m) => new Map(m).set(id, { conv: null, contact: null })),
    );
  }, []);

  useEffect(() => {
    for (const task of [...offers, ...tasks]) if (task.conversation_id) ensureInfo(task.conversation_id);
    for (const tab of tabs) ensureInfo(tab.conversationId);
  }, [offers, tasks, tabs]);

  useEffect(() => {
    try {
      sessionStorage.setItem(`atende.tabs.${userId}`, JSON.stringify({ tabs, active }));
    } catch {
      /* storage off: tabs last for this page */
    }
    if (active !== HOME && active !== SEARCH && !tabs.some((x) => x.conversationId === active)) setActive(HOME);
  }, [tabs, active]);

  const open = useCallback((conversationId: string, taskId?: string, focus = true) => {
    setTabs((cur) => {
      const i = cur.findIndex((x) => x.conversationId === conversationId);
      if (i < 0) return [...cur, { conversationId, taskId }];
      if (taskId && cur[i]!.taskId !== taskId) return cur.map((x, j) => (j === i ? { ...x, taskId } : x));
      return cur;
    });
    if (focus) setActive(conversationId);
  }, []);

  const close = useCallback((conversationId: string) => {
    setTabs((cur) => {
      const i = cur.findIndex((x) => x.conversationId === conversationId);
      if (i < 0) return cur;
      const next = cur.filter((x) => x.conversationId !== conversationId);
      if (activeRef.current === conversationId) setActive(next[Math.min(i, next.length - 1)]?.conversationId ?? HOME);
      return next;
    });
  }, []);

  useEffect(() => {
    if (active !== HOME) {
      setUnread((m) => {
        if (!m.get(active)) return m;
        const n = new Map(m);
        n.delete(active);
        return n;
      });
    }
  }, [active]);

  useEffect(() => {
    const onFocus = () => stopFlash();
    addEventListener('focus', onFocus);
    return () => removeEventListener('focus', onFocus);
  }, []);

  useEffect(
    () =>
      onEvent((e: AtendeEvent) => {
        const agent = e.data.agent;
        if (e.type === 'agent.state_changed' && agent) {
          if (agent.id === userId) setState({ user_id: userId, status: agent.status, reason_code: agent.reason_code, since: agent.since });
          setPeople((m) => {
            const p = m.get(agent.id);
            return p ? new Map(m).set(agent.id, { ...p, status: agent.status }) : m;
          });
          return;
        }
        if (e.type === 'conversation.updated' && infoRef.current.has(e.subject)) {
          const c = e.data as unknown as Conversation;
          setInfo((m) => new Map(m).set(e.subject, { conv: c, contact: m.get(e.subject)?.contact ?? null }));
          return;
        }
        if (e.type === 'conversation.event_appended') {
          const ev = e.data as unknown as TimelineEvent;
          const tab = tabsRef.current.find((x) => x.conversationId === ev.conversation_id);
          if (!tab || ev.kind !== 'message' || ev.direction !== 'in') return;
          if (activeRef.current !== ev.conversation_id) setUnread((m) => new Map(m).set(ev.conversation_id, (m.get(ev.conversation_id) ?? 0) + 1));
          const name = infoRef.current.get(ev.conversation_id)?.contact?.name || t('offer.unknown_customer');
          flashTitle(t('ws.title_flash', { name }));
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
        if (task.conversation_id) {
          const cid = task.conversation_id;
          if (mine) open(cid, task.id, false);
          else setTabs((cur) => cur.map((x) => (x.taskId === task.id ? { ...x, taskId: undefined } : x)));
        }
        if (e.type === 'task.offered' && offeredToMe) {
          chime();
          flashTitle(t('ws.title_offer'));
        }
      }),
    [userId],
  );

  // Alt+1..9: the conversation tabs; Alt+0: the overview.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const m = /^Digit(\d)$/.exec(e.code);
      if (!m) return;
      const n = Number(m[1]);
      const target = n === 0 ? HOME : tabsRef.current[n - 1]?.conversationId;
      if (!target) return;
      e.preventDefault();
      setActive(target);
      requestAnimationFrame(() => document.getElementById(`tab-${target}`)?.focus());
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const queueName = (id: string | undefined) => (id ? (queues.find((q) => q.id === id)?.name ?? '—') : '—');
  const customerName = (convId: string | undefined): string => {
    const i = convId ? info.get(convId) : undefined;
    return i?.contact?.name || t('offer.unknown_customer');
  };
  const lookup: Lookup = {
    queueName,
    customer: (task) => {
      if (!task.conversation_id) return t('offer.unknown_customer');
      const i = info.get(task.conversation_id);
      if (!i?.conv) return t('offer.unknown_customer');
      const p = t('offer.protocol', { protocol: i.conv.protocol });
      return i.contact?.name ? `${i.contact.name} · ${p}` : p;
    },
  };

  const workspace = useMemo<Workspace>(
    () => ({
      queues,
      dispositions,
      fields,
      canned,
      people,
      queueName,
      personName: (id) => (id ? (people.get(id)?.name ?? t('conv.someone')) : t('conv.someone')),
      reloadCanned: loadCanned,
      reloadPeople: () => void loadPeople(),
    }),
    [queues, dispositions, fields, canned, people, language()],
  );

  const answered = (task: Task, result: Task | null) => {
    setOffers((os) => os.filter((o) => o.id !== task.id));
    if (result && result.state === 'assigned' && result.agent_id === userId) {
      setTasks((ts) => [...ts.filter((x) => x.id !== result.id), result]);
      if (result.conversation_id) open(result.conversation_id, result.id, true);
    }
  };

  // The task ended (completed or transferred): close its tab.
  const finished = (conversationId: string, taskId: string | undefined) => {
    if (taskId) setTasks((ts) => ts.filter((x) => x.id !== taskId));
    close(conversationId);
  };

  const onTabKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return;
    const ids = [HOME, ...(loadSearch ? [SEARCH] : []), ...tabs.map((x) => x.conversationId)];
    let i = ids.indexOf(active);
    if (e.key === 'ArrowRight') i = (i + 1) % ids.length;
    else if (e.key === 'ArrowLeft') i = (i - 1 + ids.length) % ids.length;
    else if (e.key === 'Home') i = 0;
    else i = ids.length - 1;
    e.preventDefault();
    setActive(ids[i]!);
    document.getElementById(`tab-${ids[i]}`)?.focus();
  };

  const readyAgain = async () => {
    try {
      setState(await api<AgentState>('PUT', `/users/${userId}/state`, { status: 'available' }));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  };

  return (
    <WorkspaceContext.Provider value={workspace}>
      <div class="desktop">
        <div class="ws-bar">
          <div class="ws-tabs" role="tablist" aria-label={t('ws.tabs')} onKeyDown={onTabKey} data-testid="tabs">
            <button
              type="button"
              role="tab"
              id={`tab-${HOME}`}
              aria-controls={`panel-${HOME}`}
              aria-selected={active === HOME}
              tabIndex={active === HOME ? 0 : -1}
              class="ws-tab ws-home"
              aria-label={offers.length ? `${t('ws.home')}, ${t('ws.offers_waiting', { count: offers.length })}` : t('ws.home')}
              title={t('ws.shortcut', { key: '0' })}
              onClick={() => setActive(HOME)}
            >
              {t('ws.home')}
              {offers.length > 0 && (
                <span class="badge badge-offer" aria-hidden="true">
                  {fmt.number(offers.length)}
                </span>
              )}
            </button>
            {loadSearch && (
              <button
                type="button"
                role="tab"
                id={`tab-${SEARCH}`}
                aria-controls={`panel-${SEARCH}`}
                aria-selected={active === SEARCH}
                tabIndex={active === SEARCH ? 0 : -1}
                class="ws-tab"
                onClick={() => setActive(SEARCH)}
              >
                {t('ws.search')}
              </button>
            )}
            {tabs.map((tab, i) => {
              const c = info.get(tab.conversationId)?.conv;
              const name = customerName(tab.conversationId);
              const channel = c ? t(`channel.${c.channel}`) : '';
              const n = unread.get(tab.conversationId) ?? 0;
              const selected = active === tab.conversationId;
              return (
                <div class={`ws-tab-wrap${selected ? ' selected' : ''}`} key={tab.conversationId}>
                  <button
                    type="button"
                    role="tab"
                    id={`tab-${tab.conversationId}`}
                    aria-controls={`panel-${tab.conversationId}`}
                    aria-selected={selected}
                    tabIndex={selected ? 0 : -1}
                    class="ws-tab"
                    data-conversation-id={tab.conversationId}
                    aria-label={`${t('ws.tab', { name, channel })}${n ? `, ${t('ws.unread', { count: n })}` : ''}`}
                    title={i < 9 ? t('ws.shortcut', { key: String(i + 1) }) : undefined}
                    onClick={() => setActive(tab.conversationId)}
                  >
                    {c && <span class={`channel-icon ch-${c.channel}`} aria-hidden="true" />}
                    <span class="ws-tab-name">{name}</span>
                    {n > 0 && (
                      <span class="badge" aria-hidden="true" data-testid="unread">
                        {fmt.number(n)}
                      </span>
                    )}
                  </button>
                  <button type="button" class="ws-tab-close" tabIndex={-1} aria-label={t('ws.close_tab', { name })} onClick={() => close(tab.conversationId)}>
                    ×
                  </button>
                </div>
              );
            })}
          </div>
          {state?.status === 'wrap_up' && <WrapUp since={state.since} onReady={readyAgain} />}
          <StateSelector state={state} reasons={reasons} lang={language()} onChange={setState} />
        </div>
        <div role="tabpanel" id={`panel-${HOME}`} aria-labelledby={`tab-${HOME}`} hidden={active !== HOME} class="ws-home-panel">
          <div class="desktop-head">
            <h1>{t('desktop.greeting', { name: me.user.name.split(' ')[0] })}</h1>
            <p class="muted">{t('desktop.today', { date: fmt.date(new Date()) })}</p>
          </div>
          <div class="desktop-grid">
            {active === HOME && <Offers offers={offers} lookup={lookup} onAnswered={answered} />}
            <MyTasks tasks={tasks} lookup={lookup} onOpen={(task) => task.conversation_id && open(task.conversation_id, task.id)} />
          </div>
        </div>
        {loadSearch && (
          <div role="tabpanel" id={`panel-${SEARCH}`} aria-labelledby={`tab-${SEARCH}`} hidden={active !== SEARCH} class="ws-home-panel">
            {(active === SEARCH || searched.current) && <SearchPanel onOpen={(id) => open(id)} />}
          </div>
        )}
        {tabs.map((tab) => (
          <div
            role="tabpanel"
            key={tab.conversationId}
            id={`panel-${tab.conversationId}`}
            aria-labelledby={`tab-${tab.conversationId}`}
            hidden={active !== tab.conversationId}
            class="ws-panel"
          >
            <ConversationView
              tab={tab}
              active={active === tab.conversationId}
              info={info.get(tab.conversationId)}
              onClose={() => close(tab.conversationId)}
              onFinished={() => finished(tab.conversationId, tab.taskId)}
            />
          </div>
        ))}
        {active !== HOME && offers.length > 0 && (
          <div class="offer-dock">
            <Offers offers={offers} lookup={lookup} onAnswered={answered} />
          </div>
        )}
      </div>
    </WorkspaceContext.Provider>
  );
}
