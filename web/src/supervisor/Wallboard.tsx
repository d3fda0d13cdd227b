// The supervisors' live wallboard: a tile per queue (waiting, longest wait,
// service level against its target, speed of answer, abandons, agents by
// state, estimated wait, alerts), the agents with their state, time in it and
// work in hand, and the supervisor's actions. It follows its own WebSocket
// (/api/v1/wallboard/ws); team, queue and channel filters go to the server,
// the state and name filters and the sort stay here, and all of them live in
// the URL. ?tv=1 is the layout for a screen on the wall.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useNow, useSession } from '../app/session';
import { t, useLanguage, type Key } from '../i18n';
import { all, type AgentStatus, type Channel, type ReasonCode } from '../lib/api';
import { AgentDialog, BroadcastDialog } from './Actions';
import { StateIcon } from './icons';
import { channelKey, stateKey, WorkIcons } from './labels';
import {
  channels,
  fitGrid,
  newAlerts,
  parseView,
  selectionQuery,
  statuses,
  viewQuery,
  visibleAgents,
  type AgentView,
  type Message,
  type Snapshot,
  type SortKey,
  type ViewState,
} from './model';
import { connectWallboard, type LinkState } from './socket';
import { QueueTile, TotalsStrip, useFigures, type Figs } from './Tiles';
import './wallboard.css';

export function WallboardPage() {
  const session = useSession();
  const lang = useLanguage();
  const [view, setViewState] = useState<ViewState>(() => parseView(location.search));
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [link, setLink] = useState<LinkState>({ kind: 'connecting' });
  const [announce, setAnnounce] = useState('');
  const [echo, setEcho] = useState('');
  const [reasons, setReasons] = useState<ReasonCode[]>([]);
  const [acting, setActing] = useState<string | null>(null); // the agent whose dialog is open
  const [broadcasting, setBroadcasting] = useState(false);
  const [full, setFull] = useState(() => !!document.fullscreenElement);
  const active = useRef<Set<string> | null>(null);
  const queueNames = useRef(new Map<string, string>());
  const teamsRef = useRef<Snapshot['teams']>([]);
  const figs = useFigures(lang);

  const setView = (patch: Partial<ViewState>) =>
    setViewState((v) => {
      const next = { ...v, ...patch };
      history.replaceState(history.state, '', location.pathname + viewQuery(next));
      return next;
    });

  // Back/forward within the app changes the URL under us.
  useEffect(() => {
    const f = () => setViewState(parseView(location.search));
    addEventListener('popstate', f);
    return () => removeEventListener('popstate', f);
  }, []);

  useEffect(() => {
    if (!session.can('agent_state:manage')) return;
    all<ReasonCode>('/reason-codes')
      .then((r) => setReasons(r.filter((x) => x.active)))
      .catch(() => setReasons([]));
  }, []);

  // The live link, again whenever the server-side selection changes.
  useEffect(() => {
    active.current = null; // a new selection: its current alerts are not news
    const l = connectWallboard(
      selectionQuery(view),
      (m: Message) => {
        if (m.type === 'snapshot') {
          for (const q of m.queues) queueNames.current.set(q.id, q.name);
          teamsRef.current = m.teams ?? [];
          const { fresh, active: now } = newAlerts(active.current, m.queues);
          active.current = now;
          if (fresh.length) {
            setAnnounce(fresh.map(({ queue, alert }) => figs.alertSentence(queue.name, alert)).join(' '));
          }
          setSnap(m);
        } else if (m.type === 'broadcast') {
          const to = m.team_id ? (teamsRef.current.find((x) => x.id === m.team_id)?.name ?? m.team_id) : t('wallboard.broadcast.all');
          setEcho(t('wallboard.broadcast.echo', { from: m.from ?? '', to, text: m.text }));
        }
      },
      setLink,
    );
    return () => l.close();
  }, [view.team, view.queue, view.channel]);

  // TV mode: the shell's header and margins give way to the board.
  useEffect(() => {
    document.body.classList.toggle('wb-tv', view.tv);
    return () => document.body.classList.remove('wb-tv');
  }, [view.tv]);

  useEffect(() => {
    const f = () => setFull(!!document.fullscreenElement);
    document.addEventListener('fullscreenchange', f);
    return () => document.removeEventListener('fullscreenchange', f);
  }, []);
  const toggleFull = () => {
    if (document.fullscreenElement) void document.exitFullscreen?.();
    else void document.documentElement.requestFullscreen?.().catch(() => undefined);
  };

  const now = useNow(1000);
  const teams = snap?.teams ?? [];
  const teamName = useMemo(() => new Map(teams.map((x) => [x.id, x.name])), [teams]);
  const agents = useMemo(() => (snap ? visibleAgents(snap.agents, view, now) : []), [snap, view.status, view.q, view.sort, view.desc, now]);
  const frameAt = snap ? Date.parse(snap.at) : now;
  const acting_ = acting ? snap?.agents.find((a) => a.id === acting) : undefined;
  const canAct = session.can('agent_state:manage') || session.can('users:manage') || session.can('config:manage') || session.can('tasks:manage') || session.can('conversations:write');

  const status = <LinkBadge link={link} now={now} at={snap?.at} />;
  const live = (
    <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="wb-announce">
      {announce}
    </div>
  );

  if (view.tv) {
    return (
      <div class="wb wb-tv-root" data-testid="wallboard">
        <a class="wb-leave-tv" href={location.pathname + viewQuery({ ...view, tv: false })} onClick={(e) => (e.preventDefault(), setView({ tv: false }))}>
          {t('wallboard.exit_tv')}
        </a>
        <header class="wb-tv-head">
          <h1>{t('app.wallboard')}</h1>
          <span class="wb-tv-scope">{scopeText(view, teamName, queueNames.current)}</span>
          <span class="wb-tv-clock">{session.fmt.clock(new Date(now))}</span>
          {status}
        </header>
        {snap ? <TvBoard snap={snap} figs={figs} frameAt={frameAt} now={now} teamName={teamName} /> : <p class="wb-loading">{t('app.loading')}</p>}
        {echo && (
          <p class="wb-echo" role="status">
            {echo}
          </p>
        )}
        {live}
      </div>
    );
  }

  return (
    <div class="wb" data-testid="wallboard">
      <div class="wb-head">
        <h1>{t('app.wallboard')}</h1>
        <div class="wb-head-end">
          {status}
          {session.can('agent_state:manage') && (
            <button type="button" class="btn" onClick={() => setBroadcasting(true)}>
              {t('wallboard.action.broadcast')}
            </button>
          )}
          <button type="button" class="btn" onClick={() => setView({ tv: true })}>
            {t('wallboard.tv')}
          </button>
          {document.fullscreenEnabled !== false && (
            <button type="button" class="btn" aria-pressed={full} onClick={toggleFull}>
              {full ? t('wallboard.exit_fullscreen') : t('wallboard.fullscreen')}
            </button>
          )}
        </div>
      </div>

      <form class="wb-filters" role="search" aria-label={t('wallboard.filters')} onSubmit={(e) => e.preventDefault()}>
        <label class="wb-filter">
          {t('wallboard.team')}
          <select value={view.team} onChange={(e) => setView({ team: e.currentTarget.value })}>
            <option value="">{t('wallboard.all')}</option>
            {teams.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label class="wb-filter">
          {t('wallboard.queue')}
          <select value={view.queue} onChange={(e) => setView({ queue: e.currentTarget.value })}>
            <option value="">{t('wallboard.all')}</option>
            {[...queueNames.current].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label class="wb-filter">
          {t('wallboard.channel')}
          <select value={view.channel} onChange={(e) => setView({ channel: e.currentTarget.value as Channel | '' })}>
            <option value="">{t('wallboard.all')}</option>
            {channels.map((c) => (
              <option key={c} value={c}>
                {t(channelKey[c])}
              </option>
            ))}
          </select>
        </label>
        <label class="wb-filter">
          {t('wallboard.state')}
          <select value={view.status} onChange={(e) => setView({ status: e.currentTarget.value as AgentStatus | '' })}>
            <option value="">{t('wallboard.all')}</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {t(stateKey[s])}
              </option>
            ))}
          </select>
        </label>
        <label class="wb-filter wb-search">
          {t('wallboard.search')}
          <input type="search" value={view.q} onInput={(e) => setView({ q: e.currentTarget.value })} />
        </label>
      </form>

      {echo && (
        <p class="wb-echo" role="status">
          {echo}
        </p>
      )}

      {!snap ? (
        <p class="wb-loading" role="status">
          {t('app.loading')}
        </p>
      ) : (
        <>
          <section aria-labelledby="wb-queues-h" class="wb-section">
            <h2 id="wb-queues-h">{t('wallboard.queues')}</h2>
            <TotalsStrip totals={snap.totals} figs={figs} frameAt={frameAt} now={now} />
            {snap.queues.length === 0 ? (
              <p class="empty">{t('wallboard.no_queues')}</p>
            ) : (
              <div class="wb-tiles">
                {snap.queues.map((q) => (
                  <QueueTile key={q.id} q={q} figs={figs} frameAt={frameAt} now={now} />
                ))}
              </div>
            )}
          </section>

          <section aria-labelledby="wb-agents-h" class="wb-section panel">
            <div class="wb-agents-head">
              <h2 id="wb-agents-h">{t('wallboard.agents')}</h2>
              <span class="muted" role="status">
                {t('wallboard.agents_count', { shown: agents.length, total: snap.agents.length })}
              </span>
            </div>
            <AgentTable
              agents={agents}
              view={view}
              now={now}
              figs={figs}
              teamName={teamName}
              queueName={(id) => queueNames.current.get(id) ?? ''}
              reasonLabel={(code) => reasonText(reasons, code, lang)}
              onSort={(sort) => setView(sort === view.sort ? { desc: !view.desc } : { sort, desc: sort === 'time' || sort === 'handled' || sort === 'work' })}
              onAct={canAct ? setActing : undefined}
            />
          </section>
        </>
      )}
      {live}
      {acting_ && (
        <AgentDialog
          agent={acting_}
          teams={teams}
          reasons={reasons}
          queueName={(id) => queueNames.current.get(id) ?? ''}
          onClose={() => setActing(null)}
        />
      )}
      {broadcasting && <BroadcastDialog teams={teams} onClose={() => setBroadcasting(false)} />}
    </div>
  );
}

function reasonText(reasons: ReasonCode[], code: string, lang: string): string {
  const r = reasons.find((x) => x.code === code);
  return r?.labels[lang] ?? r?.labels.en ?? code;
}

function scopeText(v: ViewState, teams: Map<string, string>, queues: Map<string, string>): string {
  const parts = [];
  if (v.team) parts.push(teams.get(v.team) ?? '');
  if (v.queue) parts.push(queues.get(v.queue) ?? '');
  if (v.channel) parts.push(t(channelKey[v.channel]));
  return parts.filter(Boolean).join(' · ');
}

function LinkBadge({ link, now, at }: { link: LinkState; now: number; at?: string }) {
  const { fmt } = useSession();
  let text = t('conn.connecting');
  if (link.kind === 'online') text = t('conn.online');
  if (link.kind === 'waiting') text = t('conn.retry', { seconds: Math.max(0, Math.ceil((link.until - now) / 1000)) });
  return (
    <span class="wb-link">
      <span class={`conn conn-${link.kind}`} data-testid="wb-connection">
        <span class="dot" aria-hidden="true" />
        <span class="sr-only">{t('conn.label')}: </span>
        {text}
      </span>
      {at && (
        <span class="wb-updated" data-testid="wb-updated">
          {t('wallboard.last_update', { time: fmt.time(at) })}
        </span>
      )}
    </span>
  );
}

const columns: { key: SortKey | null; label: Key }[] = [
  { key: 'name', label: 'wallboard.col.name' },
  { key: 'status', label: 'wallboard.col.state' },
  { key: 'time', label: 'wallboard.col.time' },
  { key: 'work', label: 'wallboard.col.work' },
  { key: 'handled', label: 'wallboard.col.handled' },
  { key: null, label: 'wallboard.col.teams' },
];

function AgentTable(props: {
  agents: AgentView[];
  view: ViewState;
  now: number;
  figs: Figs;
  teamName: Map<string, string>;
  queueName: (id: string) => string;
  reasonLabel: (code: string) => string;
  onSort: (k: SortKey) => void;
  onAct?: (id: string) => void;
}) {
  const { fmt } = useSession();
  const { view } = props;
  if (props.agents.length === 0) return <p class="empty">{t('wallboard.no_agents')}</p>;
  return (
    <div class="wb-table-wrap">
      <table class="wb-agents" data-testid="wb-agents">
        <thead>
          <tr>
            {columns.map((c) => {
              if (!c.key) return <th key={c.label}>{t(c.label)}</th>;
              const sorted = view.sort === c.key;
              return (
                <th key={c.label} aria-sort={sorted ? (view.desc ? 'descending' : 'ascending') : undefined}>
                  <button type="button" class="wb-sort" onClick={() => props.onSort(c.key!)}>
                    {t(c.label)}
                    <span aria-hidden="true" class="wb-sort-mark">
                      {sorted ? (view.desc ? '▼' : '▲') : ''}
                    </span>
                  </button>
                </th>
              );
            })}
            {props.onAct && (
              <th>
                <span class="sr-only">{t('wallboard.col.actions')}</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.agents.map((a) => (
            <tr key={a.id} data-agent={a.id} data-state={a.status}>
              <th scope="row">{a.name}</th>
              <td>
                <span class={`wb-state wb-state-${a.status}`} data-testid="wb-agent-state">
                  <StateIcon status={a.status} />
                  {t(stateKey[a.status])}
                  {a.status === 'away' && a.reason_code ? <span class="wb-reason">{props.reasonLabel(a.reason_code)}</span> : null}
                </span>
              </td>
              <td class="wb-num" data-testid="wb-agent-time">
                {fmt.duration((props.now - Date.parse(a.since)) / 1000)}
              </td>
              <td>
                <WorkIcons agent={a} queueName={props.queueName} />
              </td>
              <td class="wb-num">{fmt.number(a.handled_today)}</td>
              <td class="wb-teams">{(a.teams ?? []).map((id) => props.teamName.get(id) ?? '').filter(Boolean).join(', ')}</td>
              {props.onAct && (
                <td>
                  <button type="button" class="btn wb-act" aria-label={t('wallboard.actions_for', { name: a.name })} onClick={() => props.onAct!(a.id)}>
                    {t('wallboard.col.actions')}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The TV layout: the totals, the tiles fitted to the screen, the agents as cards. */
function TvBoard({ snap, figs, frameAt, now, teamName }: { snap: Snapshot; figs: Figs; frameAt: number; now: number; teamName: Map<string, string> }) {
  const { fmt } = useSession();
  const tilesRef = useRef<HTMLDivElement>(null);
  const agentsRef = useRef<HTMLUListElement>(null);
  const [tileBox, setTileBox] = useState({ w: 0, h: 0 });
  const [agentBox, setAgentBox] = useState({ w: 0, h: 0 });
  useLayoutEffect(() => {
    const ro = new ResizeObserver(() => {
      const a = tilesRef.current?.getBoundingClientRect();
      const b = agentsRef.current?.getBoundingClientRect();
      if (a) setTileBox({ w: a.width, h: a.height });
      if (b) setAgentBox({ w: b.width, h: b.height });
    });
    if (tilesRef.current) ro.observe(tilesRef.current);
    if (agentsRef.current) ro.observe(agentsRef.current);
    return () => ro.disconnect();
  }, []);
  const gap = 12;
  const tg = fitGrid(snap.queues.length, tileBox.w, tileBox.h, 1.1, gap);
  const working = snap.agents.filter((a) => a.status !== 'offline');
  const ag = fitGrid(working.length, agentBox.w, agentBox.h, 5, 8);
  return (
    <div class="wb-tv-body">
      <TotalsStrip totals={snap.totals} figs={figs} frameAt={frameAt} now={now} />
      <div
        class="wb-tv-tiles"
        ref={tilesRef}
        style={{
          gridTemplateColumns: `repeat(${tg.cols}, minmax(0, 1fr))`,
          gridAutoRows: `${Math.max(0, Math.floor(tg.tileH))}px`,
          gap: `${gap}px`,
          // The tiles' text follows their size (see wallboard.css).
          fontSize: `${Math.max(8, Math.min(tg.tileH / 17, tg.tileW / 15)).toFixed(1)}px`,
        }}
      >
        {snap.queues.map((q) => (
          <QueueTile key={q.id} q={q} figs={figs} frameAt={frameAt} now={now} tv />
        ))}
      </div>
      <ul
        class="wb-tv-agents"
        ref={agentsRef}
        aria-label={t('wallboard.agents')}
        style={{
          gridTemplateColumns: `repeat(${ag.cols}, minmax(0, 1fr))`,
          gridAutoRows: `${Math.max(0, Math.floor(ag.tileH))}px`,
          fontSize: `${Math.max(8, Math.min(ag.tileH * 0.3, ag.tileW / 20)).toFixed(1)}px`,
        }}
      >
        {working.map((a) => (
          <li key={a.id} class={`wb-card wb-state-${a.status}`} data-agent={a.id}>
            <StateIcon status={a.status} />
            <span class="wb-card-name">{a.name}</span>
            <span class="wb-card-state">{t(stateKey[a.status])}</span>
            <span class="wb-card-time">{fmt.duration((now - Date.parse(a.since)) / 1000)}</span>
            <span class="wb-card-teams sr-only">{(a.teams ?? []).map((id) => teamName.get(id) ?? '').join(', ')}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
