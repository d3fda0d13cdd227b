// Email in the agent desktop, in a real browser against `atende serve --demo`
// with its SMTP receiving server on: a customer's HTML email (a remote image,
// an inline cid: image, a quoted reply) arrives by SMTP, the agent accepts it,
// the remote image is not fetched until "Show", the quote is folded and
// unfolds, and a reply from the composer is queued for delivery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHTTPServer } from 'node:http';
import { connect } from 'node:net';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, catalogue, fill, freePort, launchChromium, startAtende, until } from './lib/atende.mjs';

const agentEmail = 'marta.sanchez@demo.atende.local';
const mailboxAddress = 'soporte-browser@demo.example';
const customer = 'ana.cliente@example.org';

let atende, browser, artifacts, remote, smtpPort;
const remoteHits = [];

// A 1x1 PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** Sends one message to atende's SMTP receiving server, speaking SMTP. */
function sendSMTP(port, from, to, data) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const steps = [`EHLO browser.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA', data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..') + '\r\n.', 'QUIT'];
    let buf = '';
    let i = 0;
    sock.setEncoding('utf8');
    sock.on('data', (chunk) => {
      buf += chunk;
      // Wait for complete replies (the last line has a space after the code).
      const lines = buf.split('\r\n');
      const last = lines[lines.length - 2];
      if (!last || !/^\d{3} /.test(last)) return;
      buf = '';
      const code = Number(last.slice(0, 3));
      if (code >= 400) return reject(new Error(`SMTP ${steps[i - 1] ?? 'greeting'}: ${last}`));
      if (i === steps.length) return sock.end();
      sock.write(steps[i++] + '\r\n');
      if (i === steps.length) resolve();
    });
    sock.on('error', reject);
  });
}

before(async () => {
  artifacts = artifactsDir();
  for (const f of readdirSync(artifacts)) if (f.startsWith('email-')) rmSync(join(artifacts, f));
  smtpPort = await freePort();
  atende = await startAtende({ args: ['--smtp-addr', `127.0.0.1:${smtpPort}`] });
  // A "remote" image host: another origin, recording every request.
  const port = await freePort();
  remote = createHTTPServer((req, res) => {
    remoteHits.push(req.url);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-store' }).end(png);
  });
  await new Promise((r) => remote.listen(port, '127.0.0.1', r));
  remote.origin = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (remote ? remote.close(r) : r()));
  await atende?.stop();
});

test('an HTML email in the desktop: remote images, quote, reply', async () => {
  const lang = 'es';
  const tr = catalogue(lang);
  const queue = (await atende.all('/queues')).find((q) => q.name === 'Correo ES');
  assert.ok(queue, 'demo queue Correo ES');
  // Outgoing mail goes to a closed port: it stays queued for a retry.
  const closed = await freePort();
  await atende.api('POST', '/mailboxes', {
    name: 'Soporte (browser test)',
    address: mailboxAddress,
    queue_id: queue.id,
    active: true,
    language: 'es',
    receive: { recipients: [mailboxAddress] },
    smtp: { host: '127.0.0.1', port: closed, tls: 'none', from_name: 'Soporte Demo' },
  });

  const context = await browser.newContext({ locale: lang, viewport: { width: 1440, height: 900 }, timezoneId: 'Europe/Madrid' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const shot = (name) => page.screenshot({ path: join(artifacts, `email-${name}.png`), fullPage: true });
  try {
    await page.goto(atende.base + '/');
    await page.getByLabel(tr['login.email'], { exact: true }).fill(agentEmail);
    await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
    await page.getByRole('button', { name: tr['login.submit'] }).click();
    await page.getByTestId('connection').getByText(tr['conn.online']).waitFor();
    await page.getByRole('combobox', { name: tr['state.label'] }).selectOption('available');
    await page.getByTestId('state-now').getByText(tr['state.available']).waitFor();

    const subject = `Factura duplicada ${Date.now()}`;
    await sendSMTP(
      smtpPort,
      customer,
      mailboxAddress,
      [
        'From: Ana Cliente <' + customer + '>',
        'To: ' + mailboxAddress,
        'Subject: ' + subject,
        'Message-ID: <browser-' + Date.now() + '@example.org>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary=alt',
        '',
        '--alt',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Hola, la factura de marzo llegó dos veces.',
        '',
        'El lun, 3 mar 2025 a las 10:00, Soporte escribió:',
        '> ¿Puede enviarnos el número de factura?',
        '--alt',
        'Content-Type: multipart/related; boundary=rel',
        '',
        '--rel',
        'Content-Type: text/html; charset=utf-8',
        '',
        `<p>Hola, la factura de marzo <b>llegó dos veces</b>.</p><p><img src="${remote.origin}/tracker.png" width="40" height="40" alt="logo remoto"> <img src="cid:firma@example.org" alt="firma"></p>`,
        '<div class="gmail_quote">El lun, 3 mar 2025 a las 10:00, Soporte escribió:<blockquote type="cite">¿Puede enviarnos el número de factura?</blockquote></div>',
        '--rel',
        'Content-Type: image/png',
        'Content-ID: <firma@example.org>',
        'Content-Transfer-Encoding: base64',
        '',
        png.toString('base64'),
        '--rel--',
        '--alt--',
        '',
      ].join('\n'),
    );

    const acceptName = fill(tr['offer.accept_named'], { channel: tr['channel.email'], queue: queue.name });
    await page.getByRole('button', { name: acceptName }).first().click({ timeout: 20_000 });
    const message = page.getByTestId('email-message').filter({ hasText: subject });
    await message.waitFor({ timeout: 15_000 });
    await message.getByTestId('email-remote-bar').waitFor();
    const frame = message.frameLocator('[data-testid=email-frame]');
    await frame.getByText('llegó dos veces').waitFor();
    // The inline cid: image loaded from atende, the remote one not at all.
    await frame.locator('img[alt=firma]').evaluate((img) => img.complete || new Promise((r) => (img.onload = r)));
    assert.ok(await frame.locator('img[alt=firma]').evaluate((img) => img.naturalWidth === 1 && img.src.includes('/api/v1/media/')), 'cid image from media');
    assert.equal(await frame.locator('img[alt="logo remoto"]').getAttribute('src').then((s) => s.startsWith('data:')), true);
    // The quoted history is folded.
    const quote = frame.getByText('¿Puede enviarnos el número de factura?');
    assert.equal(await quote.isVisible(), false, 'quote folded');
    await shot('1-blocked');
    assert.deepEqual(remoteHits, [], 'no request to the remote image host before Show');

    const toggle = message.getByTestId('email-quote-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    await quote.waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

    await message.getByRole('button', { name: tr['email.remote_show'] }).click();
    await frame.locator(`img[src="${remote.origin}/tracker.png"]`).waitFor();
    for (let i = 0; i < 50 && remoteHits.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(remoteHits, ['/tracker.png'], 'the remote image loads after Show');
    await message.getByTestId('email-remote-bar').waitFor({ state: 'detached' });
    await shot('2-revealed');

    // Reply with the composer.
    await message.getByRole('button', { name: tr['email.reply'], exact: true }).click();
    const composer = message.getByTestId('email-composer');
    await composer.waitFor();
    assert.deepEqual(await composer.getByTestId('email-chip').allTextContents().then((l) => l.map((s) => s.replace('✕', '').trim())), [customer]);
    assert.equal(await composer.getByLabel(tr['email.subject']).inputValue(), `Re: ${subject}`);
    // An invalid Cc is refused inline.
    await composer.getByRole('textbox', { name: tr['email.cc'] }).fill('no-es-correo');
    await composer.getByRole('textbox', { name: tr['email.cc'] }).press('Enter');
    const editor = composer.getByTestId('email-editor');
    await editor.click();
    await page.keyboard.type('Gracias, Ana. ');
    await composer.getByRole('button', { name: tr['email.bold'] }).click();
    await page.keyboard.type('Anulamos la factura duplicada');
    await composer.getByRole('button', { name: tr['email.send'] }).click();
    await composer.getByTestId('email-error').getByText(fill(tr['email.invalid_address'], { address: 'no-es-correo' })).waitFor();
    await composer.getByRole('button', { name: fill(tr['email.remove_address'], { address: 'no-es-correo' }) }).click();
    await shot('3-composer');
    await composer.getByRole('button', { name: tr['email.send'] }).click();
    await composer.getByTestId('email-queued').waitFor();

    const convs = await atende.api('GET', '/conversations?channel=email&limit=50');
    const conv = convs.items.find((c) => c.subject === subject);
    assert.ok(conv, 'the email conversation');
    const outs = await atende.api('GET', `/conversations/${conv.id}/emails`);
    assert.equal(outs.length, 1, JSON.stringify(outs));
    assert.ok(['queued', 'sending'].includes(outs[0].state), `state ${outs[0].state}`);
    assert.deepEqual(outs[0].recipients, [customer]);
    assert.equal(outs[0].kind, 'reply');
    const events = await atende.api('GET', `/conversations/${conv.id}/events`);
    const sent = events.items.find((e) => e.id === outs[0].event_id);
    assert.match(sent.data.email.html, /<b>Anulamos la factura duplicada<\/b>/);
    assert.match(sent.body, /Gracias, Ana\. Anulamos la factura duplicada/);

    // The sent reply shows in the timeline with its delivery state.
    const reply = page.getByTestId('email-message').filter({ hasText: `Re: ${subject}` });
    await reply.getByTestId('email-state').waitFor({ timeout: 15_000 });
    await shot('4-queued');

    // A new email to the customer from the customer card: a new conversation.
    const card = page.getByTestId('customer-card');
    await card.getByRole('button', { name: tr['customer.new_email'] }).click();
    const fresh = card.getByTestId('email-composer');
    await fresh.getByLabel(tr['email.subject']).fill('Su nueva factura');
    await fresh.getByTestId('email-editor').click();
    await page.keyboard.type('Adjuntamos la factura corregida.');
    await fresh.getByRole('button', { name: tr['email.send'] }).click();
    // The composer answers with its confirmation or a problem: say which.
    await card.locator('[data-testid=email-queued], [data-testid=email-error]').first().waitFor({ timeout: 30_000 }).catch(async (e) => {
      await shot('5-new-email-timeout');
      throw new Error(`${e.message}\ncustomer card: ${await card.innerText().catch(() => '?')}`);
    });
    assert.equal(await card.getByTestId('email-error').count(), 0, await card.innerText());
    await card.getByTestId('email-queued').waitFor();
    const started = await until('the new email', async () => {
      const convs = (await atende.api('GET', `/conversations?contact_id=${conv.contact_id}`)).items;
      return convs.find((c) => c.id !== conv.id && c.subject.startsWith('Su nueva factura'));
    });
    const mails = await atende.api('GET', `/conversations/${started.id}/emails`);
    assert.equal(mails[0].kind, 'new');
    assert.deepEqual(mails[0].recipients, [customer]);
    await shot('5-new-email');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
