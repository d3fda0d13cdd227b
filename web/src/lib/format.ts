// Dates, times and numbers with Intl: in the UI language, with the tenant's
// regional preset when it shares that language (es-MX for an es-MX tenant),
// and always in the tenant's time zone.
import type { Lang } from '../i18n';

export interface Formatter {
  time(iso: string | Date): string;
  date(d: Date): string;
  /** A short date and time, e.g. "15/01/2026, 10:30". */
  dateTime(iso: string | Date): string;
  /** A short time without seconds, for chat bubbles. */
  clock(iso: string | Date): string;
  number(n: number): string;
  /** A file size: 1536 -> "1.5 KB". */
  bytes(n: number): string;
  /** 75 s -> "1:15"; 3725 s -> "1:02:05". */
  duration(seconds: number): string;
}

export function formatter(lang: Lang, tenantLocale: string, timeZone: string): Formatter {
  const base = lang.split('-')[0];
  const locale = tenantLocale && tenantLocale.split('-')[0] === base ? tenantLocale : lang;
  let tz: string | undefined = timeZone || undefined;
  try {
    new Intl.DateTimeFormat(locale, { timeZone: tz });
  } catch {
    tz = undefined; // an unknown zone: the browser's
  }
  const timeF = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const dateF = new Intl.DateTimeFormat(locale, { timeZone: tz, dateStyle: 'full' });
  const dateTimeF = new Intl.DateTimeFormat(locale, { timeZone: tz, dateStyle: 'short', timeStyle: 'short' });
  const clockF = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit' });
  const numF = new Intl.NumberFormat(locale);
  const oneF = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const asDate = (v: string | Date) => (typeof v === 'string' ? new Date(v) : v);
  const two = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
  return {
    time: (v) => timeF.format(typeof v === 'string' ? new Date(v) : v),
    date: (d) => dateF.format(d),
    dateTime: (v) => dateTimeF.format(asDate(v)),
    clock: (v) => clockF.format(asDate(v)),
    number: (n) => numF.format(n),
    bytes(n) {
      if (n < 1024) return `${numF.format(n)} B`;
      if (n < 1024 * 1024) return `${oneF.format(n / 1024)} KB`;
      return `${oneF.format(n / (1024 * 1024))} MB`;
    },
    duration(seconds) {
      const s = Math.max(0, Math.floor(seconds));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const rest = two.format(s % 60);
      return h > 0 ? `${h}:${two.format(m)}:${rest}` : `${m}:${rest}`;
    },
  };
}
