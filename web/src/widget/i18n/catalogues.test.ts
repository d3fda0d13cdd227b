import { describe, expect, it } from 'vitest';
import en from './en.json';
import es from './es.json';
import ptBR from './pt-BR.json';
import { pickLanguage, translate } from './index';

const all: Record<string, Record<string, string>> = { en, es, 'pt-BR': ptBR };
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('widget i18n catalogues', () => {
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

describe('widget language choice', () => {
  it('prefers the visitor, then data-lang, then the widget, then the browser', () => {
    expect(pickLanguage('en', 'es', 'pt-BR', ['es-ES'])).toBe('en');
    expect(pickLanguage(null, 'es', 'pt-BR', ['en-US'])).toBe('es');
    expect(pickLanguage(null, 'fr', 'pt-BR', ['en-US'])).toBe('pt-BR');
    expect(pickLanguage(null, null, '', ['fr-FR', 'pt-PT'])).toBe('pt-BR');
    expect(pickLanguage(null, null, null, ['de'])).toBe('en');
  });
  it('fills placeholders', () => {
    expect(translate('en', 'queue.position_wait', { position: 3, minutes: 2 })).toBe('You are number 3 in line - about 2 min');
  });
});
