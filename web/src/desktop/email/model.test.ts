import { describe, expect, test } from 'vitest';
import { bounceReason, parseAddress, prefixSubject, replyRecipients, splitAddresses, splitQuote, type EmailData } from './model';

describe('splitQuote', () => {
  test('cuts at a byte offset of the UTF-8 text', () => {
    const own = 'Olá, não recebi.\n\n';
    const quoted = 'Em 1 de março, Ana escreveu:\n> ¿Recibió?';
    const at = new TextEncoder().encode(own).length; // larger than own.length: accents
    expect(at).toBeGreaterThan(own.length);
    expect(splitQuote(own + quoted, at)).toEqual([own, quoted]);
  });
  test('no quote', () => {
    expect(splitQuote('hola', -1)).toEqual(['hola', '']);
    expect(splitQuote('hola', 99)).toEqual(['hola', '']);
  });
});

test('addresses are validated and split outside angle brackets', () => {
  expect(parseAddress('Ana <Ana@Cliente.es>')).toBe('ana@cliente.es');
  expect(parseAddress('mailto:x@y.io')).toBe('x@y.io');
  expect(parseAddress('no-at-sign')).toBeNull();
  expect(parseAddress('a@b')).toBeNull();
  expect(parseAddress('a b@c.es')).toBeNull();
  expect(splitAddresses('Ana <a@b.es>, c@d.es; "x" <e@f.es>')).toEqual(['Ana <a@b.es>', 'c@d.es', '"x" <e@f.es>']);
});

const inbound: EmailData = {
  message_id: 'm1',
  from: { name: 'Ana', address: 'ana@cliente.es' },
  reply_to: [],
  to: [{ address: 'soporte@acme.es' }, { address: 'pedro@cliente.es' }],
  cc: [{ address: 'ANA@cliente.es' }, { address: 'jefa@cliente.es' }],
  subject: 'Factura',
  quote_at: -1,
  attachments: [],
  mailbox_id: 'mb',
  raw_media_id: 'raw',
};

describe('replyRecipients', () => {
  const own = ['soporte@acme.es'];
  test('reply goes to the sender, or Reply-To', () => {
    expect(replyRecipients(inbound, 'reply', own)).toEqual({ to: ['ana@cliente.es'], cc: [] });
    expect(replyRecipients({ ...inbound, reply_to: [{ address: 'facturas@cliente.es' }] }, 'reply', own).to).toEqual(['facturas@cliente.es']);
  });
  test('reply-all adds the others without us or duplicates', () => {
    expect(replyRecipients(inbound, 'reply_all', own)).toEqual({ to: ['ana@cliente.es', 'pedro@cliente.es'], cc: ['jefa@cliente.es'] });
  });
  test('answering our own outgoing message writes to its recipients again', () => {
    const out = { ...inbound, from: { address: 'soporte@acme.es' }, to: [{ address: 'ana@cliente.es' }], cc: [] };
    expect(replyRecipients(out, 'reply', own).to).toEqual(['ana@cliente.es']);
  });
  test('forward starts empty', () => {
    expect(replyRecipients(inbound, 'forward', own)).toEqual({ to: [], cc: [] });
  });
});

test('subject prefixes do not stack', () => {
  expect(prefixSubject('Factura', 'reply')).toBe('Re: Factura');
  expect(prefixSubject('RE: Factura', 'reply_all')).toBe('RE: Factura');
  expect(prefixSubject('Factura', 'forward')).toBe('Fwd: Factura');
  expect(prefixSubject('Fwd: Factura', 'forward')).toBe('Fwd: Factura');
});

test('bounce reason from the stored DSN', () => {
  expect(bounceReason('{"status":"5.1.1","diagnostic":"smtp; 550 no such user"}')).toEqual({ status: '5.1.1', diagnostic: 'smtp; 550 no such user' });
  expect(bounceReason('connection refused')).toEqual({ diagnostic: 'connection refused' });
  expect(bounceReason(undefined)).toBeNull();
});
