import { describe, expect, it } from 'vitest';
import { formatter } from './format';

describe('formatter', () => {
  it('shows times in the tenant time zone', () => {
    const f = formatter('es', 'es-ES', 'Europe/Madrid');
    expect(f.time('2026-01-15T09:30:05Z')).toBe('10:30:05');
    expect(formatter('en', 'es-ES', 'America/New_York').time('2026-01-15T09:30:05Z')).toMatch(/04:30:05/);
  });
  it('uses the tenant region only within the UI language', () => {
    expect(formatter('pt-BR', 'pt-BR', 'UTC').number(1234.5)).toBe('1.234,5');
    expect(formatter('en', 'pt-BR', 'UTC').number(1234.5)).toBe('1,234.5');
  });
  it('formats durations', () => {
    const f = formatter('en', 'en-US', 'UTC');
    expect(f.duration(0)).toBe('0:00');
    expect(f.duration(75)).toBe('1:15');
    expect(f.duration(3725)).toBe('1:02:05');
  });
  it('formats short date-times, clock times and sizes in the tenant zone', () => {
    const f = formatter('en', 'en-US', 'America/New_York');
    expect(f.dateTime('2026-01-15T09:30:05Z')).toMatch(/1\/15\/26.*4:30/);
    expect(f.clock('2026-01-15T09:30:05Z')).toMatch(/04:30/);
    expect(f.bytes(512)).toBe('512 B');
    expect(f.bytes(1536)).toBe('1.5 KB');
    expect(formatter('es', 'es-ES', 'UTC').bytes(3 * 1024 * 1024 + 200_000)).toBe('3,2 MB');
  });
  it('survives an unknown time zone', () => {
    expect(() => formatter('en', 'en-US', 'Mars/Olympus').time(new Date())).not.toThrow();
  });
});
