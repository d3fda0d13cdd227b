// Transfer (to a colleague or a queue, with a note) and End (a disposition,
// mandatory, with a note when it requires one) as native modal dialogs:
// focus stays inside and Escape cancels.
import { useEffect, useState } from 'preact/hooks';
import { language, t } from '../i18n';
import { api, ApiError, errorText, type AgentStatus } from '../lib/api';
import { Modal } from '../app/Modal';
import { useSession } from '../app/session';
import { label } from './model';
import { useWorkspace } from './workspace';

const statusOrder: Record<AgentStatus, number> = { available: 0, wrap_up: 1, busy: 2, away: 3, offline: 4 };

export function TransferDialog(props: { conversationId: string; taskId: string; onClose: () => void; onDone: () => void }) {
  const { me } = useSession();
  const ws = useWorkspace();
  const people = [...ws.people.values()]
    .filter((p) => p.id !== me.user.id)
    .sort((a, b) => statusOrder[a.status ?? 'offline'] - statusOrder[b.status ?? 'offline'] || a.name.localeCompare(b.name));
  const [to, setTo] = useState<'agent' | 'queue'>(people.length ? 'agent' : 'queue');
  const [agent, setAgent] = useState(people[0]?.id ?? '');
  const [queue, setQueue] = useState(ws.queues[0]?.id ?? '');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  // Colleagues' states change while the agent works: fetch them afresh.
  useEffect(() => ws.reloadPeople(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const target = to === 'agent' ? { agent_id: agent } : { queue_id: queue };
    if (!(target.agent_id || target.queue_id)) return;
    setBusy(true);
    setError('');
    try {
      const n = note.trim();
      try {
        await api('POST', `/tasks/${props.taskId}/transfer`, n ? { ...target, note: n } : target);
      } catch (err) {
        // A server that does not take a transfer note yet: keep the note
        // in the conversation for whoever takes it, then transfer.
        if (!(n && err instanceof ApiError && err.status === 400 && err.problem?.field === 'note')) throw err;
        await api('POST', `/conversations/${props.conversationId}/notes`, { body: n });
        await api('POST', `/tasks/${props.taskId}/transfer`, target);
      }
      props.onDone();
    } catch (err) {
      setError(errorText(err, t('error.network')));
      setBusy(false);
    }
  };

  return (
    <Modal title={t('transfer.title')} onClose={props.onClose} testid="transfer-dialog">
      <form onSubmit={submit}>
        <fieldset class="segmented">
          <legend class="sr-only">{t('transfer.to')}</legend>
          <label>
            <input type="radio" name="to" checked={to === 'agent'} disabled={!people.length} onChange={() => setTo('agent')} /> {t('transfer.to_agent')}
          </label>
          <label>
            <input type="radio" name="to" checked={to === 'queue'} onChange={() => setTo('queue')} /> {t('transfer.to_queue')}
          </label>
        </fieldset>
        {!people.length && <p class="muted small">{t('transfer.no_agents')}</p>}
        {to === 'agent' ? (
          <label class="field">
            <span>{t('transfer.agent')}</span>
            <select value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
              {people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} — {t(`state.${p.status ?? 'offline'}`)}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label class="field">
            <span>{t('transfer.queue')}</span>
            <select value={queue} onChange={(e) => setQueue((e.target as HTMLSelectElement).value)}>
              {ws.queues.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label class="field">
          <span>{t('transfer.note')}</span>
          <textarea rows={3} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
        </label>
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={props.onClose}>
            {t('dialog.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {t('transfer.submit')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function EndDialog(props: { conversationId: string; taskId?: string; onClose: () => void; onDone: () => void }) {
  const ws = useWorkspace();
  const lang = language();
  const [disp, setDisp] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const chosen = ws.dispositions.find((d) => d.id === disp);
  const needNote = !!chosen?.require_note;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!chosen) {
      setError(t('end.choose'));
      return;
    }
    if (needNote && !note.trim()) {
      setError(t('end.note_required'));
      return;
    }
    setBusy(true);
    setError('');
    try {
      await api('POST', `/conversations/${props.conversationId}/disposition`, { disposition_id: chosen.id, note: note.trim() || undefined });
      if (props.taskId) {
        try {
          await api('POST', `/tasks/${props.taskId}/complete`);
        } catch (err) {
          // Already ended elsewhere (the customer left and it was closed): fine.
          if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) throw err;
        }
      }
      props.onDone();
    } catch (err) {
      setError(errorText(err, t('error.network')));
      setBusy(false);
    }
  };

  const sorted = [...ws.dispositions].sort((a, b) => label(a.labels, lang, a.code).localeCompare(label(b.labels, lang, b.code)));
  return (
    <Modal title={t('end.title')} onClose={props.onClose} testid="end-dialog">
      <form onSubmit={submit}>
        <label class="field">
          <span>{t('end.disposition')}</span>
          <select value={disp} aria-required="true" onChange={(e) => setDisp((e.target as HTMLSelectElement).value)}>
            <option value="" disabled>
              {t('end.choose')}
            </option>
            {sorted.map((d) => (
              <option key={d.id} value={d.id}>
                {label(d.labels, lang, d.code)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>{needNote ? t('end.note_needed') : t('end.note')}</span>
          <textarea rows={3} value={note} aria-required={needNote} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
        </label>
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={props.onClose}>
            {t('dialog.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {t('end.submit')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
