// The Wallboard app, loaded on first use: its tiles, table and actions stay
// out of the desktop's first load.
import { lazyApp } from '../app/lazy';

export const Wallboard = lazyApp(() => import('./Wallboard').then((m) => m.WallboardPage), 'wb-loading');
