// The widget's own text in es, pt-BR and en. It does not share the desktop's
// catalogues: customers' pages load only what the widget needs. Every
// catalogue has the same keys (catalogues.test.ts); {name} placeholders are
// filled by translate().
import en from './en.json';
import es from './es.json';
import ptBR from './pt-BR.json';

export type Lang = 'es' | 'pt-BR' | 'en';
export type Key = keyof typeof en;
export const languages: Lang[] = ['es', 'pt-BR', 'en'];
export const catalogues: Record<Lang, Record<Key, string>> = { es, 'pt-BR': ptBR, en };

/** Each language's name in itself, for the switch. */
export const languageNames: Record<Lang, string> = { es: 'Español', 'pt-BR': 'Português', en: 'English' };

export function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (languages as string[]).includes(v);
}

/** The supported language closest to a list of preferences (BCP 47 tags). */
export function closest(prefs: readonly (string | null | undefined)[]): Lang | null {
  for (const p of prefs) {
    if (!p) continue;
    const l = p.toLowerCase();
    if (l.startsWith('pt')) return 'pt-BR';
    if (l.startsWith('es')) return 'es';
    if (l.startsWith('en')) return 'en';
  }
  return null;
}

/**
 * The language to show: the visitor's own choice in the panel, else the
 * script tag's data-lang, else the widget's configured language, else the
 * browser's.
 */
export function pickLanguage(chosen: string | null | undefined, dataLang: string | null | undefined,
  configLang: string | null | undefined, browser: readonly string[]): Lang {
  return closest([chosen]) ?? closest([dataLang]) ?? closest([configLang]) ?? closest(browser) ?? 'en';
}

export function translate(lang: Lang, key: Key, vars?: Record<string, string | number>): string {
  const s = catalogues[lang][key] ?? catalogues.en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
}
