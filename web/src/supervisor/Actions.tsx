// The supervisor's actions on the wallboard, each shown only with the
// permission it needs: an agent's state (agent_state:manage), the agent's
// skills (users:manage) and teams (config:manage), which decide the queues
// they serve; joining a chat (conversations:write) and taking a task over
// (tasks:manage); a message to all agents or a team (agent_state:manage).
// Destructive steps ask first; problems show their detail in place.
import { useEffect, useState } from 'preact/hooks';
import { Modal } from '../app/Modal';
import { useSession } from '../app/session';
import { language, t, useLanguage } from '../i18n';
import { all, api, ApiError, errorText, NetworkError, type AgentStatus, type ReasonCode, type User } from '../lib/api';
import { StateIcon } from './icons';
import type { AgentView, Team, TaskView } from './model';
import { channelKey, stateKey, WorkIcons } from './labels';

function Problem({ text }: { text: string }) {
  return text ? (
    <p class="alert" role="alert">
      {text}
    </p>
  ) : null;
}

function Done({ text }: { text: string }) {
  return text ? (
    <p class="wb-done" role="status">
      {text}
    </p>
  ) : null;
}

/** A conditional change (If-Match with the version read), as api() does the rest. */
async function patchVersioned<T>(path: string, version: number, body: unknown, csrf: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, {
      method: 'PATCH',
      headers: {
        Accept: 'application/json',
        'Accept-Language': language(),
        'Content-Type': 'application/merge-patch+json',
        'If-Match': `"${version}"`,
        'X-CSRF-Token': csrf,
      },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new NetworkError(String(e));
  }
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      /* not problem+json */
    }
    throw new ApiError(res.status, problem);
  }
  return (await res.json()) as T;
}

const settable: AgentStatus[] = ['available', 'away', 'offline'];

export function AgentDialog(props: {
  agent: AgentView;
  teams: Team[];
  reasons: ReasonCode[];
  queueName: (id: string) => string;
  onClose: () => void;
}) {
  const session = useSession();
  const [moving, setMoving] = useState(false);
  // A task taken over leaves the agent's list (and its row here) with the
  // next frame, so what happened is said at the dialog's level.
  const [done, setDone] = useState('');
  const a = props.agent;
  const canMove = session.can('users:manage') || session.can('config:manage');
  if (moving) return <MoveDialog agent={a} teams={props.teams} queueName={props.queueName} onClose={props.onClose} onBack={() => setMoving(false)} />;
  return (
    <Modal title={t('wallboard.agent.title', { name: a.name })} onClose={props.onClose} testid="wb-agent-dialog" class="wb-modal wb-modal-wide">
      <p class="wb-agent-now">
        <span class={`wb-state wb-state-${a.status}`}>
          <StateIcon status={a.status} />
          {t(stateKey[a.status])}
        </span>{' '}
        <WorkIcons agent={a} queueName={props.queueName} />
      </p>
      {session.can('agent_state:manage') && <StateForm agent={a} reasons={props.reasons} />}
      {(session.can('conversations:write') || session.can('tasks:manage')) && (a.tasks ?? []).length > 0 && (
        <section class="wb-dialog-section">
          <h3>{t('wallboard.agent.work')}</h3>
          <ul class="wb-task-list">
            {(a.tasks ?? []).map((x) => (
              <TaskRow key={x.id} task={x} agent={a} queueName={props.queueName} onDone={setDone} />
            ))}
          </ul>
        </section>
      )}
      <Done text={done} />
      <div class="modal-actions">
        {canMove && (
          <button type="button" class="btn" onClick={() => setMoving(true)}>
            {t('wallboard.action.move')}
          </button>
        )}
        <button type="button" class="btn" onClick={props.onClose}>
          {t('wallboard.close')}
        </button>
      </div>
    </Modal>
  );
}

function StateForm({ agent, reasons }: { agent: AgentView; reasons: ReasonCode[] }) {
  const lang = useLanguage();
  const [status, setStatus] = useState<AgentStatus>(agent.status === 'available' ? 'away' : 'available');
  const [reason, setReason] = useState(reasons[0]?.code ?? '');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');

  const apply = async () => {
    setBusy(true);
    setError('');
    setDone('');
    try {
      await api('PUT', `/users/${agent.id}/state`, status === 'away' ? { status, reason_code: reason } : { status });
      setDone(t('wallboard.state.done', { name: agent.name, state: t(stateKey[status]) }));
      setConfirming(false);
    } catch (e) {
      setError(errorText(e, t('error.network')));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    // Logging an agent off ends their availability: ask first.
    if (status === 'offline' && !confirming) {
      setConfirming(true);
      return;
    }
    void apply();
  };
  return (
    <form class="wb-dialog-section" onSubmit={submit}>
      <h3>{t('wallboard.action.state')}</h3>
      <div class="wb-form-row">
        <label class="wb-filter">
          {t('wallboard.state.new')}
          <select value={status} onChange={(e) => (setStatus(e.currentTarget.value as AgentStatus), setConfirming(false))}>
            {settable.map((s) => (
              <option key={s} value={s}>
                {t(stateKey[s])}
              </option>
            ))}
          </select>
        </label>
        {status === 'away' && (
          <label class="wb-filter">
            {t('wallboard.state.reason')}
            <select value={reason} onChange={(e) => setReason(e.currentTarget.value)} required>
              {reasons.map((r) => (
                <option key={r.code} value={r.code}>
                  {r.labels[lang] ?? r.labels.en ?? r.code}
                </option>
              ))}
            </select>
          </label>
        )}
        {!confirming && (
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {t('wallboard.apply')}
          </button>
        )}
      </div>
      {confirming && (
        <div class="wb-confirm" role="alertdialog" aria-label={t('wallboard.confirm')}>
          <p>{t('wallboard.state.confirm_offline', { name: agent.name })}</p>
          <button type="submit" class="btn btn-danger" disabled={busy}>
            {t('wallboard.confirm')}
          </button>
          <button type="button" class="btn" onClick={() => setConfirming(false)}>
            {t('dialog.cancel')}
          </button>
        </div>
      )}
      <Problem text={error} />
      <Done text={done} />
    </form>
  );
}

function TaskRow({ task, agent, queueName, onDone }: { task: TaskView; agent: AgentView; queueName: (id: string) => string; onDone: (text: string) => void }) {
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (f: () => Promise<unknown>, ok: string) => {
    setBusy(true);
    setError('');
    onDone('');
    try {
      await f();
      onDone(ok);
      setConfirming(false);
    } catch (e) {
      setError(errorText(e, t('error.network')));
    } finally {
      setBusy(false);
    }
  };
  const channel = t(channelKey[task.channel]);
  const canJoin = task.channel === 'chat' && !!task.conversation_id && session.can('conversations:write');
  // Only an agent can hold a task, so only an agent may take one over.
  const canTakeOver = session.can('tasks:manage') && session.me.user.roles.includes('agent');
  return (
    <li class="wb-task" data-task={task.id}>
      <span class="wb-task-what">
        {t('wallboard.task', { channel, queue: queueName(task.queue_id) || '—' })}
        {task.accepted_at && <span class="muted"> · {t('wallboard.accepted_at', { time: session.fmt.clock(task.accepted_at) })}</span>}
      </span>
      <span class="wb-task-actions">
        {canJoin && (
          <button
            type="button"
            class="btn"
            disabled={busy}
            onClick={() => run(() => api('POST', `/conversations/${task.conversation_id}/join`), t('wallboard.join.done'))}
          >
            {t('wallboard.action.join')}
          </button>
        )}
        {canTakeOver && !confirming && (
          <button type="button" class="btn" disabled={busy} onClick={() => setConfirming(true)}>
            {t('wallboard.action.takeover')}
          </button>
        )}
      </span>
      {confirming && (
        <div class="wb-confirm" role="alertdialog" aria-label={t('wallboard.confirm')}>
          <p>{t('wallboard.takeover.confirm', { channel, name: agent.name })}</p>
          <button
            type="button"
            class="btn btn-danger"
            disabled={busy}
            onClick={() => run(() => api('POST', `/tasks/${task.id}/takeover`), t('wallboard.takeover.done'))}
          >
            {t('wallboard.confirm')}
          </button>
          <button type="button" class="btn" onClick={() => setConfirming(false)}>
            {t('dialog.cancel')}
          </button>
        </div>
      )}
      <Problem text={error} />
    </li>
  );
}

interface Skill {
  id: string;
  name: string;
}
interface TeamFull {
  id: string;
  name: string;
  member_ids: string[] | null;
  version: number;
}

/** The agent's skills (PATCH /users/{id}) and teams (PATCH /teams/{id}), both with If-Match. */
function MoveDialog(props: { agent: AgentView; teams: Team[]; queueName: (id: string) => string; onClose: () => void; onBack: () => void }) {
  const session = useSession();
  const csrf = session.me.csrf_token ?? '';
  const canSkills = session.can('users:manage');
  const canTeams = session.can('config:manage');
  const [user, setUser] = useState<User & { version: number; skills: { skill_id: string; proficiency: number }[] | null } | null>(null);
  const [skills, setSkills] = useState<Skill[]>([]);
  const [teams, setTeams] = useState<TeamFull[]>([]);
  const [levels, setLevels] = useState<Record<string, number>>({}); // skill id -> proficiency, 0 = none
  const [member, setMember] = useState<Record<string, boolean>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const id = props.agent.id;

  const load = async () => {
    const [u, sk, tm] = await Promise.all([
      api<NonNullable<typeof user>>('GET', `/users/${id}`),
      canSkills ? all<Skill>('/skills') : Promise.resolve([]),
      canTeams ? all<TeamFull>('/teams') : Promise.resolve([]),
    ]);
    setUser(u);
    setSkills(sk.sort((a, b) => a.name.localeCompare(b.name)));
    setTeams(tm.sort((a, b) => a.name.localeCompare(b.name)));
    setLevels(Object.fromEntries((u.skills ?? []).map((s) => [s.skill_id, s.proficiency])));
    setMember(Object.fromEntries(tm.map((x) => [x.id, (x.member_ids ?? []).includes(id)])));
  };
  useEffect(() => {
    load().catch((e) => setError(errorText(e, t('error.network'))));
  }, [id]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!user) return;
    setBusy(true);
    setError('');
    setDone('');
    try {
      if (canSkills) {
        const next = Object.entries(levels)
          .filter(([, p]) => p > 0)
          .map(([skill_id, proficiency]) => ({ skill_id, proficiency }))
          .sort((a, b) => a.skill_id.localeCompare(b.skill_id));
        const before = [...(user.skills ?? [])].sort((a, b) => a.skill_id.localeCompare(b.skill_id));
        if (JSON.stringify(next) !== JSON.stringify(before)) {
          const u = await patchVersioned<typeof user>(`/users/${id}`, user.version, { skills: next }, csrf);
          setUser(u);
        }
      }
      for (const tm of teams) {
        const was = (tm.member_ids ?? []).includes(id);
        if (member[tm.id] === was) continue;
        const ids = member[tm.id] ? [...(tm.member_ids ?? []), id] : (tm.member_ids ?? []).filter((x) => x !== id);
        await patchVersioned(`/teams/${tm.id}`, tm.version, { member_ids: ids }, csrf);
      }
      await load();
      setDone(t('wallboard.move.done'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // Someone changed the agent or a team meanwhile: show theirs.
        await load().catch(() => undefined);
        setError(t('wallboard.move.conflict'));
      } else {
        setError(errorText(err, t('error.network')));
      }
    } finally {
      setBusy(false);
    }
  };

  const serving = (props.agent.queues ?? []).map(props.queueName).filter(Boolean);
  return (
    <Modal title={t('wallboard.move.title', { name: props.agent.name })} onClose={props.onClose} testid="wb-move-dialog" class="wb-modal wb-modal-wide">
      <p class="muted">{serving.length ? t('wallboard.move.serving', { queues: serving.join(', ') }) : t('wallboard.move.serving_none')}</p>
      {!user && !error && <p class="muted">{t('app.loading')}</p>}
      {user && (
        <form onSubmit={save}>
          {canTeams && (
            <fieldset class="wb-fieldset">
              <legend>{t('wallboard.move.teams')}</legend>
              <p class="muted">{t('wallboard.move.teams_hint')}</p>
              {teams.map((tm) => (
                <label key={tm.id} class="wb-check">
                  <input type="checkbox" checked={!!member[tm.id]} onChange={(e) => setMember({ ...member, [tm.id]: e.currentTarget.checked })} />
                  {tm.name}
                </label>
              ))}
            </fieldset>
          )}
          {canSkills && (
            <fieldset class="wb-fieldset">
              <legend>{t('wallboard.move.skills')}</legend>
              <div class="wb-skills">
                {skills.map((s) => (
                  <label key={s.id} class="wb-skill">
                    <span>{s.name}</span>
                    <select
                      aria-label={t('wallboard.move.proficiency', { skill: s.name })}
                      value={String(levels[s.id] ?? 0)}
                      onChange={(e) => setLevels({ ...levels, [s.id]: Number(e.currentTarget.value) })}
                    >
                      <option value="0">{t('wallboard.move.no_skill')}</option>
                      {[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => (
                        <option key={n} value={String(n)}>
                          {n}
                        </option>
                      ))}
                    </select>
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          <Problem text={error} />
          <Done text={done} />
          <div class="modal-actions">
            <button type="button" class="btn" onClick={props.onBack}>
              {t('wallboard.back')}
            </button>
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {t('wallboard.save')}
            </button>
          </div>
        </form>
      )}
      {!user && (
        <>
          <Problem text={error} />
          <div class="modal-actions">
            <button type="button" class="btn" onClick={props.onBack}>
              {t('wallboard.back')}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}

export function BroadcastDialog({ teams, onClose }: { teams: Team[]; onClose: () => void }) {
  const [text, setText] = useState('');
  const [team, setTeam] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    setBusy(true);
    setError('');
    setDone('');
    try {
      await api('POST', '/broadcasts', team ? { text: body, team_id: team } : { text: body });
      const to = team ? (teams.find((x) => x.id === team)?.name ?? '') : t('wallboard.broadcast.all');
      setDone(t('wallboard.broadcast.sent', { to }));
      setText('');
    } catch (err) {
      setError(errorText(err, t('error.network')));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('wallboard.broadcast.title')} onClose={onClose} testid="wb-broadcast-dialog" class="wb-modal">
      <form onSubmit={submit}>
        <label class="field">
          {t('wallboard.broadcast.to')}
          <select value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
            <option value="">{t('wallboard.broadcast.all')}</option>
            {teams.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          {t('wallboard.broadcast.text')}
          <textarea rows={3} maxLength={1000} value={text} onInput={(e) => setText(e.currentTarget.value)} required />
        </label>
        <Problem text={error} />
        <Done text={done} />
        <div class="modal-actions">
          <button type="button" class="btn" onClick={onClose}>
            {t('wallboard.close')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy || !text.trim()}>
            {t('wallboard.broadcast.send')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
