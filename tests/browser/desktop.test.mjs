// The agent desktop in a real browser (Debian's chromium driven by
// playwright-core), against a real `atende serve --demo`: log in, set the
// state, receive an offer with its countdown, accept it, log out; once per
// language. Screenshots go to artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const agentEmail = 'marta.sanchez@demo.atende.local';

const catalogue = (lang) => JSON.parse(readFileSync(join(root, 'web', 'src', 'i18n', `${lang}.json`), 'utf8'));

let tmp, bin, server, base, password, token, browser, queue, conversation;
let serverLog = '';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function adminApi(method, path, body) {
  const res = await fetch(base + '/api/v1' + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

before(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'atende-browser-'));
  bin = process.env.ATENDE_BIN ?? join(tmp, 'atende');
  if (!process.env.ATENDE_BIN) execFileSync('go', ['build', '-o', bin, './cmd/atende'], { cwd: root, stdio: 'inherit' });
  const data = join(tmp, 'data');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--demo', '--data', data, '--addr', `127.0.0.1:${port}`, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr.on('data', (b) => (serverLog += b));
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('atende did not start:\n' + out + serverLog)), 30_000);
    server.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/Every demo user has the password[^\n]*\n\s*(\S+)/);
      if (m) password = m[1];
      if (out.includes('atende is ready') && password) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.on('exit', (code) => reject(new Error(`atende exited with ${code}:\n${out}${serverLog}`)));
  });
  const tokOut = execFileSync(bin, ['admin', 'create-token', '--data', data, '--tenant', 'demo', '--email', 'admin@demo.atende.local', '--name', 'browser-test'], {
    encoding: 'utf8',
  });
  token = tokOut.match(/Bearer SECRET'\):\s*\n\s*(\S+)/)[1];
  const queues = await adminApi('GET', '/queues?limit=200');
  queue = queues.items.find((q) => q.name === 'Soporte técnico ES');
  assert.ok(queue, 'demo queue Soporte técnico ES');
  const convs = await adminApi('GET', '/conversations?limit=1');
  conversation = convs.items[0];
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await new Promise((r) => (server && server.exitCode === null ? server.on('exit', r) : r()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('API misses stay problem+json and client routes get the app', async () => {
  const miss = await fetch(base + '/api/v1/no-such-thing');
  assert.equal(miss.status, 404);
  assert.match(miss.headers.get('content-type'), /problem\+json/);
  const app = await fetch(base + '/desktop/anything');
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(await app.text(), /assets\/app-/, 'the built app, not the placeholder: run make web');
});

for (const [lang, size] of [
  ['es', { width: 1280, height: 720 }],
  ['pt-BR', { width: 1280, height: 720 }],
  ['en', { width: 1920, height: 1080 }],
]) {
  test(`agent journey in ${lang} at ${size.width}x${size.height}`, async () => {
    const tr = catalogue(lang);
    // A fresh context with the browser in this language: the app must pick it.
    const context = await browser.newContext({ locale: lang, viewport: size, timezoneId: 'America/Sao_Paulo' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const shot = (name) => page.screenshot({ path: join(artifacts, `${lang}-${name}.png`) });
    try {
      await page.goto(base + '/');
      await page.getByRole('heading', { name: tr['login.title'] }).waitFor();

      // A wrong password: the server's translated problem title is shown.
      await page.getByLabel(tr['login.email'], { exact: true }).fill(agentEmail);
      await page.getByLabel(tr['login.password'], { exact: true }).fill('not-the-password');
      await page.getByRole('button', { name: tr['login.submit'] }).click();
      await page.getByTestId('login-error').waitFor();
      await shot('1-login-error');

      await page.getByLabel(tr['login.password'], { exact: true }).fill(password);
      await page.getByRole('button', { name: tr['login.submit'] }).click();
      await page.getByRole('heading', { name: tr['offer.region'] }).waitFor();
      await page.getByTestId('connection').getByText(tr['conn.online']).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.ok(await page.getByRole('link', { name: tr['app.desktop'] }).isVisible());
      assert.ok(await page.getByRole('button', { name: tr['shell.logout'] }).isVisible());
      assert.ok(await page.getByRole('heading', { name: tr['tasks.title'] }).isVisible());

      // State: away with a reason code, then available; the timer restarts.
      const select = page.getByRole('combobox', { name: tr['state.label'] });
      const awayValue = await select.locator('option[value^="away:"]').first().getAttribute('value');
      await select.selectOption(awayValue);
      await page.getByTestId('state-now').getByText(tr['state.away'], { exact: false }).waitFor();
      await select.selectOption('available');
      await page.getByTestId('state-now').getByText(tr['state.available']).waitFor();
      const timer = page.getByTestId('state-timer');
      assert.match(await timer.innerText(), /^0:0\d$/);
      await shot('2-desktop-available');

      // A task for the agent's queue: the offer appears with a countdown.
      const task = await adminApi('POST', '/tasks', { queue_id: queue.id, channel: 'chat', conversation_id: conversation?.id });
      const offer = page.locator(`[data-testid="offer"][data-task-id="${task.id}"]`);
      await offer.waitFor({ timeout: 15_000 });
      await offer.getByText(queue.name).waitFor();
      await offer.getByRole('heading', { name: tr['offer.title'].replace('{channel}', tr['channel.chat']) }).waitFor();
      if (conversation) await offer.getByText(conversation.protocol, { exact: false }).waitFor();
      const first = await offer.getByTestId('offer-countdown').innerText();
      assert.match(first, /^\d+:\d\d$/, `countdown ${first}`);
      await page.waitForTimeout(1100);
      const second = await offer.getByTestId('offer-countdown').innerText();
      assert.notEqual(first, second, 'the countdown moves');
      await shot('3-offer');

      await offer.getByRole('button', { name: tr['offer.accept_named'].replace('{channel}', tr['channel.chat']).replace('{queue}', queue.name) }).click();
      // Accepting opens the conversation in a tab; Alt+0 goes back to the
      // overview, where the task is listed under "My tasks".
      if (conversation) {
        const tab = page.locator(`[role="tab"][data-conversation-id="${conversation.id}"]`);
        await tab.waitFor();
        assert.equal(await tab.getAttribute('aria-selected'), 'true');
        await page.locator(`#panel-${conversation.id}`).getByTestId('customer-card').waitFor();
        await shot('4-task-accepted');
        await page.keyboard.press('Alt+Digit0');
      }
      await page.locator(`[data-testid="my-tasks"] tr[data-task-id="${task.id}"]`).waitFor();
      assert.equal(await offer.count(), 0);

      // Leave the agent free for the next run.
      await adminApi('POST', `/tasks/${task.id}/complete`, {}).catch(() => {});

      // The language switch works and is remembered for this user.
      const other = lang === 'en' ? 'es' : 'en';
      await page.getByRole('combobox', { name: tr['lang.label'] }).selectOption(other);
      await page.getByRole('button', { name: catalogue(other)['shell.logout'] }).waitFor();
      await page.reload();
      await page.getByRole('button', { name: catalogue(other)['shell.logout'] }).waitFor();
      await page.getByRole('combobox', { name: catalogue(other)['lang.label'] }).selectOption(lang);

      await page.getByRole('button', { name: tr['shell.logout'] }).click();
      await page.getByRole('heading', { name: tr['login.title'] }).waitFor();
      const me = await page.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.status));
      assert.equal(me, 401, 'logged out');
      assert.deepEqual(errors.filter((e) => !/401|Unauthorized/.test(e)), []);
    } catch (e) {
      await shot('failure').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
}
