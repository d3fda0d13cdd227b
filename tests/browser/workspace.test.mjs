// The agent's chat workspace in a real browser against a real `atende serve
// --demo`: two web chat visitors (through the visitor API) reach the agent as
// offers; accepting opens tabs with the customer card and the customer's
// earlier history; the agent answers with a canned response, an emoji and a
// file, receives the visitor's messages and typing, adds a note, switches
// tabs with Alt+digits, transfers one chat to a queue and ends the other with
// a disposition, then sees after-contact work and becomes ready again.
// Once in es at 1280x720 and once in en at 1920x1080; screenshots go to
// artifacts/workspace-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactsDir, catalogue, fill, launchChromium, root, startAtende } from './lib/atende.mjs';

const agentEmail = 'marta.sanchez@demo.atende.local';
const origin = 'https://shop.example.com';
// A 1x1 PNG for the attachment.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

let tmp, atende, browser, queue, widget, artifacts;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'atende-workspace-'));
  if (!process.env.ATENDE_BIN) {
    // A fresh build: the binary embeds web/dist, which must be current.
    process.env.ATENDE_BIN = join(tmp, 'atende');
    execFileSync('go', ['build', '-o', process.env.ATENDE_BIN, './cmd/atende'], { cwd: root, stdio: 'inherit' });
  }
  artifacts = artifactsDir();
  atende = await startAtende();
  const queues = await atende.all('/queues');
  queue = queues.find((q) => q.name === 'Soporte técnico ES');
  assert.ok(queue, 'demo queue Soporte técnico ES');
  // After-contact work after each chat (the demo queues have none).
  await atende.api('PATCH', `/queues/${queue.id}`, { routing: { wrap_up_sec: 60 } }, { 'If-Match': '*', 'Content-Type': 'application/merge-patch+json' });
  widget = await atende.api('POST', '/chat-widgets', {
    name: 'Workspace test',
    queue_id: queue.id,
    allowed_origins: [origin],
    language: 'es',
    active: true,
    uploads: { max_bytes: 1048576, mime_types: ['image/png', 'text/plain'] },
  });
  // The demo's shared canned responses, or one made here when it has none.
  const canned = await atende.api('GET', '/canned-responses');
  if (!canned.items.some((c) => /\{\{contact\.(first_)?name\}\}/.test(c.body))) {
    await atende.api('POST', '/canned-responses', { scope: 'tenant', shortcut: 'saludo', title: 'Saludo', body: 'Hola {{contact.first_name}}, soy {{agent.first_name}}. ¿En qué puedo ayudarte?' });
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await atende?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Calls the visitor API as a customer's browser on the shop's site would. */
async function visitor(method, path, token, body) {
  const headers = { Origin: origin, 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(atende.base + '/api/v1' + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A customer with an earlier email conversation, so the history has something. */
async function customerWithHistory(name, email) {
  const contact = await atende.api('POST', '/contacts', { name, identities: [{ kind: 'email', value: email }], tags: ['vip'], fields: { customer_id: 'C-4711' } });
  const conv = await atende.api('POST', '/conversations', { contact_id: contact.id, channel: 'email', subject: 'Factura de marzo' });
  await atende.api('POST', `/conversations/${conv.id}/messages`, { channel: 'email', direction: 'in', body: 'La factura de marzo viene duplicada.', client_id: 'hist-1' });
  await atende.api('POST', `/conversations/${conv.id}/notes`, { body: 'Revisado con facturación.' });
  return { contact, past: conv };
}

for (const [lang, size] of [
  ['es', { width: 1280, height: 720 }],
  ['en', { width: 1920, height: 1080 }],
]) {
  test(`chat workspace in ${lang} at ${size.width}x${size.height}`, async () => {
    const tr = catalogue(lang);
    const context = await browser.newContext({ locale: lang, viewport: size, timezoneId: 'Europe/Madrid' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const shot = (name) => page.screenshot({ path: join(artifacts, `workspace-${lang}-${name}.png`) });
    const suffix = `${lang}-${Date.now()}`;
    try {
      const { contact, past } = await customerWithHistory(`Lucía Romero ${lang}`, `lucia.${suffix}@example.com`);

      // Start free and offline whatever an earlier run left.
      const marta = (await atende.all('/users')).find((u) => u.email === agentEmail);
      for (const task of await atende.all(`/tasks?state=assigned&agent_id=${marta.id}`)) await atende.api('POST', `/tasks/${task.id}/cancel`, {});
      await atende.api('PUT', `/users/${marta.id}/state`, { status: 'offline' });
      await page.goto(atende.base + '/');
      await page.getByLabel(tr['login.email'], { exact: true }).fill(agentEmail);
      await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
      await page.getByRole('button', { name: tr['login.submit'] }).click();
      await page.getByTestId('connection').getByText(tr['conn.online']).waitFor();
      await page.getByRole('combobox', { name: tr['state.label'] }).selectOption('available');
      await page.getByTestId('state-now').getByText(tr['state.available']).waitFor();

      // First visitor: the known customer (same email) starts a chat.
      const s1 = await visitor('POST', `/chat/${widget.id}/sessions`, null, { name: contact.name, email: `lucia.${suffix}@example.com`, consent: true, language: lang });
      assert.ok(s1.token, `a chat session: ${JSON.stringify(s1)}`);
      await visitor('POST', '/chat/messages', s1.token, { client_id: 'v1-1', body: 'Hola, no me funciona la fibra' });
      const acceptName = fill(tr['offer.accept_named'], { channel: tr['channel.chat'], queue: queue.name });
      await page.getByRole('button', { name: acceptName }).first().click({ timeout: 15_000 });

      // The tab opens with the customer card and the history.
      const tab1 = page.getByRole('tab', { name: fill(tr['ws.tab'], { channel: tr['channel.chat'], name: contact.name }) });
      await tab1.waitFor();
      assert.equal(await tab1.getAttribute('aria-selected'), 'true');
      const panel1 = page.locator(`#panel-${s1.conversation_id}`);
      const card = panel1.getByTestId('customer-card');
      await card.getByRole('heading', { name: contact.name }).waitFor();
      await card.getByText(`lucia.${suffix}@example.com`).waitFor();
      await card.getByText('C-4711').waitFor();
      await card.getByText('vip').waitFor();
      await card.getByText(s1.protocol).waitFor();
      await panel1.getByText('Hola, no me funciona la fibra').waitFor();
      const history = panel1.getByTestId('history');
      await history.getByText('La factura de marzo viene duplicada.').waitFor();
      await history.getByText(past.protocol, { exact: false }).waitFor();
      await history.getByText('Revisado con facturación.').waitFor();

      // A canned response by its shortcut: "/" + shortcut, Enter inserts the
      // server-rendered text, Enter sends.
      const canned = (await atende.api('GET', '/canned-responses')).items;
      const greet = canned.find((c) => /\{\{contact\.(first_)?name\}\}/.test(c.body)) ?? canned[0];
      const rendered = (await atende.api('POST', `/canned-responses/${greet.id}/render`, { conversation_id: s1.conversation_id })).body;
      const box = panel1.getByRole('textbox', { name: tr['composer.message'] });
      await box.click();
      await box.pressSequentially(`/${greet.shortcut}`);
      await panel1.getByRole('listbox', { name: tr['composer.canned'] }).getByRole('option').first().waitFor();
      await shot('1-canned-suggest');
      await box.press('Enter');
      await page.waitForFunction((sel) => document.querySelector(sel)?.value.length > 0 && !document.querySelector(sel).value.startsWith('/'), `#panel-${s1.conversation_id} textarea`);
      assert.equal((await box.inputValue()).trim(), rendered.trim());
      // An emoji from the picker, then send.
      await panel1.getByRole('button', { name: tr['composer.emoji'] }).click();
      await panel1.getByRole('button', { name: 'thumbs up' }).click();
      await box.press('Enter');
      await panel1.getByTestId('message').filter({ hasText: rendered.trim().slice(0, 20) }).getByTestId('receipt').waitFor();
      assert.equal(await panel1.getByTestId('pending').count(), 0);
      const seen = await visitor('GET', '/chat/messages?after=0', s1.token);
      assert.ok(seen.items.some((m) => m.author === 'agent' && m.body.includes('👍')), 'the visitor got the canned reply with the emoji');

      // A file: uploaded, then sent with the message; the image shows.
      const file = join(tmp, 'captura.png');
      writeFileSync(file, png);
      await panel1.getByTestId('attach-input').setInputFiles(file);
      await panel1.getByText('captura.png').waitFor();
      await box.fill('Adjunto la captura');
      await page.waitForFunction((sel) => !document.querySelector(sel).disabled, `#panel-${s1.conversation_id} .composer .btn-primary`);
      await box.press('Enter');
      await panel1.getByRole('img', { name: 'captura.png' }).waitFor();

      // The visitor types and writes: typing indicator, then the message.
      await visitor('POST', '/chat/typing', s1.token, { typing: true });
      await panel1.getByTestId('typing').getByText(fill(tr['conv.typing'], { name: contact.name })).waitFor();
      await visitor('POST', '/chat/messages', s1.token, { client_id: 'v1-2', body: 'Gracias, ya lo veo' });
      await panel1.getByText('Gracias, ya lo veo').waitFor();
      // The visitor reads the agent's messages: the marks turn to "read".
      const now = await visitor('GET', '/chat/messages?after=0', s1.token);
      await visitor('POST', '/chat/read', s1.token, { seq: Math.max(...now.items.map((m) => m.seq)) });
      await panel1.locator('.receipt.read').first().waitFor();

      // An internal note.
      await panel1.getByRole('button', { name: tr['composer.note_toggle'] }).click();
      const noteBox = panel1.getByRole('textbox', { name: tr['composer.note_input'] });
      await noteBox.fill('Cliente VIP: revisar la línea');
      await noteBox.press('Enter');
      await panel1.getByTestId('note').filter({ hasText: 'Cliente VIP: revisar la línea' }).waitFor();
      const notSeen = await visitor('GET', '/chat/messages?after=0', s1.token);
      assert.ok(!notSeen.items.some((m) => m.body.includes('revisar la línea')), 'notes stay internal');
      await panel1.getByRole('button', { name: tr['composer.note_toggle'] }).click();
      await shot('2-conversation');

      // A second visitor: a second tab; the first gets an unread badge.
      const s2 = await visitor('POST', `/chat/${widget.id}/sessions`, null, { name: `Pedro ${lang}`, email: `pedro.${suffix}@example.com`, consent: true, language: lang });
      await page.getByRole('button', { name: acceptName }).first().click({ timeout: 15_000 });
      const tab2 = page.getByRole('tab', { name: fill(tr['ws.tab'], { channel: tr['channel.chat'], name: `Pedro ${lang}` }) });
      await tab2.waitFor();
      assert.equal(await tab2.getAttribute('aria-selected'), 'true');
      await visitor('POST', '/chat/messages', s1.token, { client_id: 'v1-3', body: '¿Sigues ahí?' });
      await page.getByRole('tab', { name: new RegExp(fill(tr['ws.unread'], { count: 1 })) }).waitFor();
      await shot('3-two-tabs');

      // Alt+1 goes to the first chat and clears its badge; Alt+2 back.
      await page.keyboard.press('Alt+Digit1');
      await page.waitForFunction((id) => document.getElementById(`tab-${id}`)?.getAttribute('aria-selected') === 'true', s1.conversation_id);
      assert.equal(await page.getByTestId('unread').count(), 0);
      await page.keyboard.press('Alt+Digit2');
      await page.waitForFunction((id) => document.getElementById(`tab-${id}`)?.getAttribute('aria-selected') === 'true', s2.conversation_id);

      // Transfer the second chat to a queue with a note: its tab closes.
      const panel2 = page.locator(`#panel-${s2.conversation_id}`);
      await panel2.getByRole('button', { name: tr['conv.transfer'], exact: true }).click();
      const tdlg = page.getByTestId('transfer-dialog');
      await tdlg.getByLabel(tr['transfer.to_queue']).check();
      // A chat queue of another team, so the chat does not come back to this agent.
      const other = (await atende.all('/queues')).find((q) => q.channels.includes('chat') && !q.team_ids.some((id) => marta.team_ids.includes(id)));
      assert.ok(other, 'a chat queue of another team');
      await tdlg.getByRole('combobox', { name: tr['transfer.queue'] }).selectOption(other.id);
      await tdlg.getByLabel(tr['transfer.note']).fill('Pasa a la cola de ventas');
      await shot('4-transfer');
      await tdlg.getByRole('button', { name: tr['transfer.submit'] }).click();
      await tab2.waitFor({ state: 'detached' });
      const held = await atende.all(`/tasks?state=assigned&agent_id=${marta.id}`);
      assert.ok(!held.some((x) => x.conversation_id === s2.conversation_id), 'the transferred chat left the agent');

      // End the first chat with a disposition: wrap-up, then ready.
      await tab1.click();
      await panel1.getByRole('button', { name: tr['conv.end'], exact: true }).click();
      const edlg = page.getByTestId('end-dialog');
      const dispositions = await atende.all('/dispositions');
      const needsNote = dispositions.find((d) => d.active && d.require_note);
      const plain = dispositions.find((d) => d.active && !d.require_note);
      const select = edlg.getByRole('combobox', { name: tr['end.disposition'] });
      if (needsNote) {
        await select.selectOption(needsNote.id);
        await edlg.getByRole('button', { name: tr['end.submit'] }).click();
        await edlg.getByRole('alert').getByText(tr['end.note_required']).waitFor();
      }
      await select.selectOption((plain ?? needsNote).id);
      await edlg.getByRole('textbox').fill('Línea reiniciada');
      await shot('5-end');
      await edlg.getByRole('button', { name: tr['end.submit'] }).click();
      await tab1.waitFor({ state: 'detached' });
      const conv1 = await atende.api('GET', `/conversations/${s1.conversation_id}`);
      assert.equal(conv1.disposition_id, (plain ?? needsNote).id);
      const wrap = page.getByTestId('wrap-up');
      await wrap.waitFor({ timeout: 10_000 });
      await wrap.getByRole('timer').waitFor();
      await shot('6-wrap-up');
      await wrap.getByRole('button', { name: tr['wrapup.ready'] }).click();
      await page.getByTestId('state-now').getByText(tr['state.available']).waitFor();
      await wrap.waitFor({ state: 'detached' });

      await page.getByRole('combobox', { name: tr['state.label'] }).selectOption('offline');
      assert.deepEqual(errors, []);
    } catch (e) {
      await shot('failure').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
}
