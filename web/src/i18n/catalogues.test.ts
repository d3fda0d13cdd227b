import { describe, expect, it } from 'vitest';
import en from './en.json';
import es from './es.json';
import ptBR from './pt-BR.json';

const all: Record<string, Record<string, string>> = { en, es, 'pt-BR': ptBR };
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n catalogues', () => {
  for (const [lang, cat] of Object.entries(all)) {
    it(`${lang} has exactly the keys of en`, () => {
      expect(Object.keys(cat).sort()).toEqual(Object.keys(en).sort());
    });
    it(`${lang} has no empty text and the same placeholders as en`, () => {
      for (const [k, v] of Object.entries(cat)) {
        expect(v.trim(), `${lang} ${k}`).not.toBe('');
        expect(placeholders(v), `${lang} ${k}`).toEqual(placeholders((en as Record<string, string>)[k]));
      }
    });
  }
});
