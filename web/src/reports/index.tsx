// The Reports app, loaded on first use: its charts and tables stay out of
// the desktop's first load.
import { lazyApp } from '../app/lazy';

export const Reports = lazyApp(() => import('./Reports').then((m) => m.ReportsPage), 'reports-loading');
