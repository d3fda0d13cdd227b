// The applications inside the one SPA. Each has a path, a name and the
// permission that shows it. The supervisor and admin views are added here;
// the customer chat widget is NOT one of them: it is a separate entry
// (src/widget/) so customers' sites never load this code.
import type { ComponentType } from 'preact';
import type { Key } from '../i18n';
import { Desktop } from '../desktop/Desktop';
import { Reports } from '../reports'; // loads its page on first use
import { Wallboard } from '../supervisor'; // loads its page on first use

export interface AppEntry {
  path: string;
  title: Key;
  permission: string;
  component: ComponentType;
}

export const apps: AppEntry[] = [
  { path: '/desktop', title: 'app.desktop', permission: 'tasks:work', component: Desktop },
  { path: '/reports', title: 'app.reports', permission: 'reports:read', component: Reports },
  { path: '/wallboard', title: 'app.wallboard', permission: 'wallboard:read', component: Wallboard },
  // { path: '/supervisor', title: 'app.supervisor', permission: 'users:read', component: Supervisor },
  // { path: '/admin', title: 'app.admin', permission: 'config:write', component: Admin },
];
