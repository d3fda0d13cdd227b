// The customer chat widget in a real browser: a pretend customer's site on
// another origin, with a strict Content-Security-Policy and hostile CSS,
// embeds /widget.js from a real `atende serve --demo`. A visitor fills the
// pre-chat form, waits in the queue, chats with a demo agent who answers
// through the REST API, reloads without losing or doubling anything, loses
// the network while writing, sends files, ends the chat and rates it (CSAT,
// then NPS, which the tenant asks too); the offline form takes over when the queue is closed. Screenshots go to
// artifacts/widget-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactsDir, fill, launchChromium, root, startAtende, startSite } from './lib/atende.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const agentEmail = 'marta.sanchez@demo.atende.local';
const agentName = 'Marta Sánchez López';
const words = (lang) => JSON.parse(readFileSync(join(root, 'web', 'src', 'widget', 'i18n', `${lang}.json`), 'utf8'));

// A 1x1 PNG, for the upload.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let mailQueueId, atende, site, browser, artifacts, queue, widget, closedWidget, agentToken, agentId, binDir;
const vars = {};

async function agentApi(method, path, body) {
  const res = await fetch(atende.base + '/api/v1' + path, {
    method,
    headers: { Authorization: `Bearer ${agentToken}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Polls fn until it returns something truthy (the server works asynchronously). */
async function until(what, fn, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The visitor-visible messages of a conversation, from the agent's side. */
async function timeline(conversationId) {
  const out = await atende.api('GET', `/conversations/${conversationId}/events?limit=500`);
  return out.items.filter((e) => e.kind === 'message');
}

function day(offset) {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

before(async () => {
  artifacts = artifactsDir();
  if (!process.env.ATENDE_BIN) {
    // This run's binary, with this run's web/dist embedded.
    binDir = mkdtempSync(join(tmpdir(), 'atende-widget-bin-'));
    process.env.ATENDE_BIN = join(binDir, 'atende');
    execFileSync('go', ['build', '-o', process.env.ATENDE_BIN, './cmd/atende'], { cwd: root, stdio: 'inherit' });
  }
  atende = await startAtende();
  const tok = execFileSync(atende.bin, ['admin', 'create-token', '--data', atende.data, '--tenant', 'demo', '--email', agentEmail, '--name', 'widget-test'], {
    encoding: 'utf8',
  });
  agentToken = tok.match(/Bearer SECRET'\):\s*\n\s*(\S+)/)[1];
  agentId = (await agentApi('GET', '/auth/me')).user.id;

  const queues = await atende.all('/queues');
  queue = queues.find((q) => q.name === 'Soporte técnico ES');
  const mailQueue = queues.find((q) => q.name === 'Correo ES');
  mailQueueId = mailQueue?.id;
  assert.ok(queue && mailQueue, 'demo queues');
  // A chat queue on holiday from yesterday to tomorrow (any time zone): closed.
  const closedQueue = await atende.api('POST', '/queues', {
    name: 'Chat on holiday', channels: ['chat'], team_ids: queue.team_ids,
    routing: { ...queue.routing, hours: { weekly: [], holidays: [-1, 0, 1].map((d) => ({ date: day(d), name: 'closed' })) } },
  });

  site = await startSite(join(here, 'pages'), vars);
  vars.ATENDE = atende.base;
  vars.ATENDE_WS = atende.base.replace(/^http/, 'ws');
  const common = {
    allowed_origins: [site.origin], language: 'es',
    pre_chat: {
      ask_name: true, ask_email: true, consent_required: true,
      privacy_text: {
        es: 'Usamos tus datos solo para atenderte.', 'pt-BR': 'Usamos seus dados só para atender você.', en: 'We use your data only to help you.',
      },
    },
    uploads: { max_bytes: 1 << 20, mime_types: ['image/png', 'application/pdf'] },
  };
  // Transcripts go out through a mailbox with outgoing settings (the
  // durable mail queue takes them; nothing needs to listen there).
  const mailbox = await atende.api('POST', '/mailboxes', {
    name: 'Shop chat', address: 'chat@shop.example', queue_id: mailQueue.id, language: 'es',
    smtp: { host: '127.0.0.1', port: 2525, tls: 'none', user: '' },
  });
  widget = await atende.api('POST', '/chat-widgets', {
    ...common, name: 'Shop', queue_id: queue.id, theme: { primary_color: '#0b7a75', position: 'right' },
    offline: { enabled: true, queue_id: mailQueue.id }, transcript: { enabled: true, mailbox_id: mailbox.id },
  });
  closedWidget = await atende.api('POST', '/chat-widgets', {
    ...common, name: 'Shop (closed)', queue_id: closedQueue.id, theme: { primary_color: '#6d28d9', position: 'right' },
    offline: { enabled: true, queue_id: mailQueue.id },
  });
  // The tenant's chats ask NPS after CSAT.
  await atende.api('PATCH', '/survey-settings', { chat: { enabled: true, kind: 'both' } }, { 'If-Match': '*' });
  vars.WIDGET = widget.id;
  vars.CLOSED_WIDGET = closedWidget.id;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await atende?.stop();
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

test('widget.js is served for embedding on other sites', async () => {
  const res = await fetch(atende.base + '/widget.js');
  assert.equal(res.status, 200, 'dist/widget.js is built: run `cd web && npm run build` before go build');
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
  assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
  const etag = res.headers.get('etag');
  assert.ok(etag, 'an ETag to revalidate with');
  const body = await res.text();
  assert.doesNotMatch(body, /\beval\(|new Function\(/);
  const again = await fetch(atende.base + '/widget.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});

for (const [lang, size] of [
  ['es', { width: 1280, height: 800 }],
  ['pt-BR', { width: 1280, height: 800 }],
  ['en', { width: 1920, height: 1080 }],
]) {
  test(`a visitor chats with an agent in ${lang}`, async () => {
    const w = words(lang);
    const context = await browser.newContext({ locale: lang, viewport: size, timezoneId: 'America/Sao_Paulo' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const framesSent = [];
    const framesReceived = [];
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => framesSent.push(JSON.parse(String(f.payload))));
      ws.on('framereceived', (f) => framesReceived.push(JSON.parse(String(f.payload))));
    });
    const shot = (name) => page.screenshot({ path: join(artifacts, `widget-${lang}-${name}.png`) });
    const chat = page.locator('atende-chat');
    const status = chat.getByTestId('status');
    const mine = chat.locator('li.me[data-testid="msg"]');
    let taskId;
    try {
      // Nobody is free: the visitor will wait in the queue.
      await agentApi('PUT', `/users/${agentId}/state`, { status: 'offline' });
      await page.goto(site.origin + '/');
      const launcher = chat.getByRole('button', { name: words('es')['launcher.open'] });
      await launcher.waitFor();
      // The page's own CSS does not reach the widget, and the widget's does
      // not reach the page (it has a .launcher.primary button too).
      assert.equal(await launcher.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(11, 122, 117)');
      assert.equal(await page.locator('main button.launcher').evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(255, 105, 180)');
      await launcher.press('Enter'); // the keyboard opens it
      const panel = chat.getByRole('dialog');
      await panel.waitFor();
      assert.equal(await panel.evaluate((p) => getComputedStyle(p).fontFamily.includes('Courier')), false);
      if (lang !== 'es') {
        // The widget speaks its configured language (es); the visitor switches.
        await chat.getByRole('combobox', { name: words('es')['panel.language'] }).selectOption(lang);
      }
      await chat.getByText(w['prechat.intro']).waitFor();
      await chat.getByText(common(lang)).waitFor();
      await shot('1-prechat');

      // The consent is required: the server's answer is shown in this language.
      await chat.getByLabel(w['prechat.name']).fill(`Visitor ${lang}`);
      await chat.getByLabel(w['prechat.email']).fill(`visitor-${lang}@example.com`);
      await chat.getByRole('button', { name: w['prechat.start'] }).click();
      await chat.getByRole('alert').getByText(w['error.consent']).waitFor();
      await chat.getByLabel(w['prechat.consent']).check();
      await chat.getByRole('button', { name: w['prechat.start'] }).click();

      // Waiting: the place in the queue.
      const composer = chat.getByRole('textbox', { name: w['composer.label'] });
      await composer.waitFor();
      await status.getByText(new RegExp(fill(w['queue.position'], { position: '\\d+' }))).waitFor();
      const saved = await page.evaluate((id) => JSON.parse(localStorage.getItem(`atende.chat.${id}`)), widget.id);
      const conversationId = saved.conversationId;
      assert.ok(saved.visitorId && saved.token.startsWith('vt_') && conversationId, 'the chat is kept in localStorage');
      await shot('2-waiting');

      // Typing is announced at most every 2 s, then stopped once.
      await until('the socket', () => framesReceived.some((f) => f.type === 'session'));
      await composer.pressSequentially('Hola, ', { delay: 120 });
      await composer.press('Shift+Enter');
      await composer.pressSequentially('no tengo internet desde ayer', { delay: 120 });
      await composer.press('Enter');
      await mine.first().waitFor();
      await until('the first message acknowledged', async () => (await mine.first().getAttribute('data-state')) === 'delivered');
      const typing = framesSent.filter((f) => f.type === 'typing');
      const starts = typing.filter((f) => f.typing).length;
      assert.ok(starts >= 2 && starts <= 3, `typing frames while typing ~4 s: ${starts}`);
      assert.deepEqual(typing.at(-1), { type: 'typing', typing: false });
      const first = framesSent.find((f) => f.type === 'message');
      assert.match(first.client_id, /^[0-9a-f-]{36}$/);
      assert.equal(first.body, 'Hola, \nno tengo internet desde ayer');

      // The agent becomes free, is offered the chat and accepts it.
      await agentApi('PUT', `/users/${agentId}/state`, { status: 'available' });
      const task = await until('the offer', async () => {
        const page = await agentApi('GET', `/tasks?conversation_id=${conversationId}&state=offered`);
        return page.items.find((t) => t.agent_id === agentId);
      });
      taskId = task.id;
      await agentApi('POST', `/tasks/${task.id}/accept`, {});
      await status.getByText(fill(w['agent.joined'], { name: agentName })).waitFor();

      // The agent types, reads, and answers.
      await agentApi('POST', `/conversations/${conversationId}/typing`, { typing: true });
      await chat.getByTestId('agent-typing').getByText(fill(w['agent.typing'], { name: agentName })).waitFor();
      const visitorSeq = Number(await mine.first().getAttribute('data-seq'));
      await agentApi('POST', `/conversations/${conversationId}/read`, { seq: visitorSeq });
      await chat.locator(`li.me[data-seq="${visitorSeq}"][data-state="read"]`).waitFor();
      await agentApi('POST', `/conversations/${conversationId}/messages`, {
        channel: 'chat', direction: 'out', body: 'Hola, soy Marta. <b>¿Qué</b> router tienes?',
      });
      const theirs = chat.locator('li.them[data-testid="msg"]');
      await theirs.first().getByText('Hola, soy Marta. <b>¿Qué</b> router tienes?').waitFor();
      assert.equal(await chat.getByTestId('agent-typing').count(), 0, 'an answer ends the typing indicator');
      assert.equal(await theirs.locator('b').count(), 0, 'text, never markup');
      // The visitor has the panel open, so they read it: a read frame goes out.
      const theirSeq = Number(await theirs.first().getAttribute('data-seq'));
      await until('the read mark', () => framesSent.some((f) => f.type === 'read' && f.seq === theirSeq));
      await composer.fill('Un TP-Link');
      await composer.press('Enter');
      await until('two delivered', async () => (await chat.locator('li.me[data-state="delivered"], li.me[data-state="read"]').count()) === 2);
      await shot('3-chatting');

      // A reload restores the conversation: same messages, once each.
      const before = await chat.locator('[data-testid="msg"]').evaluateAll((els) => els.map((e) => e.dataset.seq));
      await page.reload();
      await chat.getByRole('dialog').waitFor(); // it stays open
      await until('history restored', async () => (await chat.locator('[data-testid="msg"]').count()) === before.length);
      const afterReload = await chat.locator('[data-testid="msg"]').evaluateAll((els) => els.map((e) => e.dataset.seq));
      assert.deepEqual(afterReload, before);
      await status.getByText(fill(w['agent.joined'], { name: agentName })).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'BODY', 'a restored panel does not take the focus');

      // Closed with Escape, the launcher counts what the agent writes.
      await composer.focus();
      await page.keyboard.press('Escape');
      await chat.getByRole('dialog').waitFor({ state: 'detached' });
      const launcherNow = chat.getByRole('button', { name: w['launcher.open'] });
      assert.equal(await launcherNow.evaluate((b) => b.getRootNode().activeElement === b), true, 'focus back on the launcher');
      await agentApi('POST', `/conversations/${conversationId}/messages`, { channel: 'chat', direction: 'out', body: '¿Sigues ahí?' });
      await chat.getByLabel(fill(w['launcher.unread'], { count: 1 })).waitFor();
      await launcherNow.click();
      await chat.getByText('¿Sigues ahí?').waitFor();
      assert.equal(await chat.locator('.badge').count(), 0);

      // The network goes away while the visitor writes two messages.
      await until('connected', async () => !(await status.innerText()).includes(w['conn.reconnecting']));
      await context.setOffline(true);
      await status.getByText(w['conn.reconnecting']).waitFor();
      await composer.fill('Primero sin red');
      await composer.press('Enter');
      await composer.fill('Segundo sin red');
      await composer.press('Enter');
      await until('two pending', async () => (await chat.locator('li.me[data-state="pending"]').count()) === 2);
      await shot('4-offline-pending');
      await context.setOffline(false);
      await until('all sent', async () => (await chat.locator('li.me[data-state="pending"]').count()) === 0, 20_000);
      await status.getByText(fill(w['agent.joined'], { name: agentName })).waitFor();
      const events = await until('stored', async () => {
        const ev = await timeline(conversationId);
        return ev.some((e) => e.body === 'Segundo sin red') && ev;
      });
      for (const body of ['Primero sin red', 'Segundo sin red', 'Un TP-Link', 'Hola, \nno tengo internet desde ayer']) {
        assert.equal(events.filter((e) => e.body === body).length, 1, `"${body}" stored exactly once`);
      }
      // And shown once each, in the server's order.
      const shown = await chat.locator('[data-testid="msg"]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
      assert.equal(new Set(shown).size, shown.length);
      assert.deepEqual(shown, [...shown].sort((a, b) => a - b));

      // Files: one that the widget refuses itself, one that goes.
      const fileInput = chat.locator('input[type="file"]');
      await fileInput.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await chat.getByText(fill(w['file.bad_type'], { name: 'notes.txt' })).waitFor();
      await fileInput.setInputFiles({ name: 'router.png', mimeType: 'image/png', buffer: png });
      const img = chat.locator('li.me img[alt="router.png"]');
      await img.waitFor();
      await until('the thumbnail loaded', () => img.evaluate((i) => i.complete && i.naturalWidth === 1));
      const stored = await timeline(conversationId);
      assert.equal(stored.filter((e) => e.data?.attachments?.some((a) => a.name === 'router.png')).length, 1);
      // The agent sends a PDF: a link the visitor can open with their token.
      const up = await fetch(atende.base + '/api/v1/media?name=manual.pdf', {
        method: 'POST', headers: { Authorization: `Bearer ${agentToken}`, 'Content-Type': 'application/pdf' }, body: '%PDF-1.4\n%%EOF\n',
      });
      assert.equal(up.status, 201);
      const pdf = await up.json();
      await agentApi('POST', `/conversations/${conversationId}/messages`, { channel: 'chat', direction: 'out', body: 'El manual', attachments: [pdf.id] });
      const link = chat.getByRole('link', { name: fill(w['file.download'], { name: 'manual.pdf' }) });
      await link.waitFor();
      const href = await link.getAttribute('href');
      assert.ok(href.startsWith(atende.base + '/api/v1/chat/files/' + pdf.id + '?token=vt_'), href);
      // The visitor's own requests share its rate limit: wait out a 429 as
      // the widget does.
      let got = await fetch(href);
      for (let i = 0; got.status === 429 && i < 3; i++) {
        await new Promise((r) => setTimeout(r, Number(got.headers.get('retry-after') || 1) * 1000 + 100));
        got = await fetch(href);
      }
      assert.equal(got.status, 200);
      assert.equal(await got.text(), '%PDF-1.4\n%%EOF\n');
      await shot('5-files');

      // The transcript, to the email given in the pre-chat form.
      await chat.getByRole('button', { name: w['transcript.button'] }).click();
      const to = chat.getByLabel(w['transcript.email']);
      assert.equal(await to.inputValue(), `visitor-${lang}@example.com`);
      await chat.getByRole('button', { name: w['transcript.send'] }).click();
      await chat.getByText(fill(w['transcript.sent'], { email: `visitor-${lang}@example.com` })).waitFor();

      // The visitor ends the chat and rates it.
      await chat.getByRole('button', { name: w['end.button'] }).click();
      await chat.getByRole('button', { name: w['end.yes'] }).click();
      await chat.getByText(w['csat.question']).waitFor();
      await chat.getByRole('radio', { name: fill(w['csat.star'], { count: 4 }) }).check();
      await chat.getByLabel(w['csat.comment']).fill('Muy amable');
      await shot('6-csat');
      await chat.getByRole('button', { name: w['csat.send'] }).click();

      // Then NPS, 0-10, in the tenant's words (the server's catalogue here).
      const npsText = JSON.parse(readFileSync(join(root, 'internal', 'i18n', 'catalog', `${lang}.json`), 'utf8'))['survey.question.nps'];
      const npsQuestion = new RegExp('^' + npsText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\{\\{tenant\\}\\}', '.+') + '$');
      await chat.locator('form.nps legend').getByText(npsQuestion).waitFor();
      assert.equal(await chat.locator('form.nps input[type="radio"]').count(), 11);
      await chat.getByRole('radio', { name: fill(w['nps.score'], { count: 9 }), exact: true }).check();
      await chat.getByLabel(w['nps.comment']).fill('Rápido');
      await shot('7-nps');
      await chat.getByRole('button', { name: w['csat.send'] }).click();
      await chat.getByRole('heading', { name: w['thanks.title'] }).waitFor();
      await shot('8-thanks');
      // Both answers are stored on the conversation, for the agent who took it.
      const answers = (await atende.api('GET', `/surveys?agent_id=${agentId}`)).items.filter((a) => a.conversation_id === conversationId);
      assert.deepEqual(answers.map((a) => `${a.kind} ${a.score} ${a.agent_id === agentId}`).sort(), ['csat 4 true', 'nps 9 true']);
      // A reload keeps the thank-you rather than reopening the old chat.
      await page.reload();
      await chat.getByRole('heading', { name: w['thanks.title'] }).waitFor();
      await chat.getByRole('button', { name: w['thanks.new'] }).click();
      await chat.getByRole('button', { name: w['prechat.start'] }).waitFor();

      assert.deepEqual(
        errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|ERR_NAME_NOT_RESOLVED|WebSocket connection|Failed to load resource|400|415/.test(e)),
        [],
      );
      assert.equal(errors.filter((e) => /Content Security Policy/i.test(e)).length, 0, 'nothing the page CSP refuses');
    } catch (e) {
      await shot('failure').catch(() => {});
      throw e;
    } finally {
      if (taskId) await agentApi('POST', `/tasks/${taskId}/complete`, {}).catch(() => {});
      await context.close();
    }
  });
}

function common(lang) {
  return { es: 'Usamos tus datos solo para atenderte.', 'pt-BR': 'Usamos seus dados só para atender você.', en: 'We use your data only to help you.' }[lang];
}

test('out of hours the visitor leaves a message', async () => {
  const w = words('en');
  const context = await browser.newContext({ locale: 'es-ES', viewport: { width: 420, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const chat = page.locator('atende-chat');
  try {
    await page.goto(site.origin + '/closed.html');
    // data-lang="en" wins over the widget's es and the browser's es-ES.
    const launcher = chat.getByRole('button', { name: w['launcher.open'] });
    // data-position="left"
    const box = await launcher.boundingBox();
    assert.ok(box.x < 100, `launcher on the left: x=${box.x}`);
    await launcher.click();
    await chat.getByRole('heading', { name: w['offline.title'] }).waitFor();
    // On a phone-sized screen the panel takes it all, with its own close button.
    assert.equal(await chat.locator('.launcher').isVisible(), false);
    await chat.getByLabel(w['offline.name']).fill('Night Owl');
    await chat.getByLabel(w['offline.email']).fill('owl@example.com');
    await chat.getByLabel(w['offline.message']).fill('Please call me tomorrow about my bill.');
    await chat.getByLabel(w['prechat.consent']).check();
    await page.screenshot({ path: join(artifacts, 'widget-offline-form.png') });
    const answer = page.waitForResponse((r) => r.url().endsWith('/offline') && r.request().method() === 'POST');
    await chat.getByRole('button', { name: w['offline.send'] }).click();
    const sent = await (await answer).json();
    const done = chat.getByTestId('offline-sent');
    await done.getByText(fill(w['offline.sent'], { protocol: sent.protocol })).waitFor();
    await page.screenshot({ path: join(artifacts, 'widget-offline-sent.png') });
    const conv = await atende.api('GET', `/conversations/${sent.conversation_id}`);
    assert.equal(conv.channel, 'email');
    assert.equal(conv.queue_id, mailQueueId);
    const ev = await timeline(conv.id);
    assert.equal(ev[0].body, 'Please call me tomorrow about my bill.');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
