// Report figures in the user's language (with the tenant's regional preset
// when it shares that language, as lib/format.ts does) and periods on the
// tenant's clock. A KPI with nothing to measure is shown as "—", never 0 %.
import type { Formatter } from '../lib/format';
import type { Period } from './model';

export const none = '—';

export interface ReportFormat {
  locale: string;
  number(n: number | null): string;
  percent(v: number | null): string;
  /** Seconds as 1:15 or 1:02:05. */
  seconds(v: number | null): string;
  /** Milliseconds of state time as 1:02:05. */
  ms(v: number): string;
  /** A period's short label for an axis: "14:15" or "25 nov". */
  short(p: Period): string;
  /** A period's full label for a tooltip or table: "25/11/2026, 14:15". */
  long(p: Period): string;
}

export function localeFor(lang: string, tenantLocale: string): string {
  const base = lang.split('-')[0];
  return tenantLocale && tenantLocale.split('-')[0] === base ? tenantLocale : lang;
}

export function reportFormat(fmt: Formatter, locale: string, timeZone: string): ReportFormat {
  let tz: string | undefined = timeZone || undefined;
  try {
    new Intl.DateTimeFormat(locale, { timeZone: tz });
  } catch {
    tz = undefined;
  }
  const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const clock = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit' });
  const dayShort = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', day: 'numeric', month: 'short' });
  const dayLong = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
  const instantLong = new Intl.DateTimeFormat(locale, { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  return {
    locale,
    number: (n) => (n === null ? none : fmt.number(n)),
    percent: (v) => (v === null ? none : pct.format(v)),
    seconds: (v) => (v === null ? none : fmt.duration(Math.round(v))),
    ms: (v) => fmt.duration(Math.round(v / 1000)),
    short: (p) => (p.day ? dayShort.format(p.start) : clock.format(p.start)),
    long: (p) => (p.day ? dayLong.format(p.start) : instantLong.format(p.start)),
  };
}
