// What every conversation tab shares: the tenant's configuration the desktop
// loads once (queues, dispositions, custom fields, canned responses, people).
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { AgentStatus, CannedResponse, Disposition, FieldDef, Queue } from '../lib/api';

export interface Person {
  id: string;
  name: string;
  status?: AgentStatus;
}

export interface Workspace {
  queues: Queue[];
  dispositions: Disposition[];
  fields: FieldDef[];
  canned: CannedResponse[];
  /** Colleagues by id: every agent (with their state), and everyone for supervisors. */
  people: Map<string, Person>;
  queueName(id: string | undefined): string;
  personName(id: string | undefined): string;
  /** Reloads the canned responses (after one was added elsewhere). */
  reloadCanned(): void;
  /** Reloads the colleagues and their current state. */
  reloadPeople(): void;
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const w = useContext(WorkspaceContext);
  if (!w) throw new Error('useWorkspace outside the desktop');
  return w;
}
