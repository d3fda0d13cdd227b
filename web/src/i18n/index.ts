// UI text in es, pt-BR and en. Every catalogue has the same keys (checked by
// catalogues.test.ts); {name} placeholders are filled by t().
import { useEffect, useState } from 'preact/hooks';
import en from './en.json';
import es from './es.json';
import ptBR from './pt-BR.json';

export type Lang = 'es' | 'pt-BR' | 'en';
export type Key = keyof typeof en;
export const languages: Lang[] = ['es', 'pt-BR', 'en'];
export const catalogues: Record<Lang, Record<Key, string>> = { es, 'pt-BR': ptBR, en };

/** The supported language closest to the browser's preferences. */
export function browserLanguage(prefs: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const p of prefs) {
    const l = p.toLowerCase();
    if (l.startsWith('pt')) return 'pt-BR';
    if (l.startsWith('es')) return 'es';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (languages as string[]).includes(v);
}

// The choice is kept in this browser: per user once logged in, and the last
// one used for the login screen. (The API lets only admins change a user's
// language, so it is not saved on the server yet.)
const lastKey = 'atende.lang';
const userKey = (userId: string) => `atende.lang.${userId}`;

function read(key: string): Lang | null {
  try {
    const v = localStorage.getItem(key);
    return isLang(v) ? v : null;
  } catch {
    return null;
  }
}

function write(key: string, lang: Lang) {
  try {
    localStorage.setItem(key, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

let current: Lang = read(lastKey) ?? browserLanguage();
const listeners = new Set<(l: Lang) => void>();

export function language(): Lang {
  return current;
}

export function setLanguage(lang: Lang, userId?: string) {
  write(lastKey, lang);
  if (userId) write(userKey(userId), lang);
  if (lang === current) return;
  current = lang;
  document.documentElement.lang = lang;
  listeners.forEach((f) => f(lang));
}

/** After login: the user's own earlier choice, else the current one. */
export function languageForUser(userId: string): Lang {
  return read(userKey(userId)) ?? current;
}

export function t(key: Key, params?: Record<string, string | number>, lang: Lang = current): string {
  let s = catalogues[lang][key] ?? catalogues.en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Re-renders the calling component when the language changes. */
export function useLanguage(): Lang {
  const [lang, set] = useState(current);
  useEffect(() => {
    listeners.add(set);
    set(current);
    return () => void listeners.delete(set);
  }, []);
  return lang;
}

document.documentElement.lang = current;
