// The supervisor's wallboard in a real browser against `atende serve
// --demo`: the demo supervisor opens it; tasks created and an agent's state
// changed through the API show on the queue tile and the agent's row without
// a reload; a low alert threshold raises an alert on the tile, announced
// once; the supervisor changes an agent's state from the board, filters by
// team (kept in the URL) and messages a team; TV mode fits the screen at
// 1920x1080 and 3840x2160. Once per language. Screenshots:
// artifacts/wallboard-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { artifactsDir, catalogue, fill, launchChromium, startAtende } from './lib/atende.mjs';

const supervisorEmail = 'javier.morales@demo.atende.local';
const agentEmail = 'marta.sanchez@demo.atende.local';
const queueName = 'Soporte técnico ES';

let atende, browser, artifacts, queue, agentToken, marta, teams, reasons;

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

/** Polls f until it returns a truthy value (or fails after timeout ms). */
async function until(what, f, timeout = 15_000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await f();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const norm = (s) => (s ?? '').replace(/[\s\u00a0\u202f]+/g, ' ').trim();

before(async () => {
  artifacts = artifactsDir();
  atende = await startAtende();
  queue = (await atende.all('/queues')).find((q) => q.name === queueName);
  assert.ok(queue, `demo queue ${queueName}`);
  teams = await atende.all('/teams');
  reasons = (await atende.all('/reason-codes')).filter((r) => r.active);
  assert.ok(reasons.length > 0, 'demo reason codes');
  const tok = execFileSync(atende.bin, ['admin', 'create-token', '--data', atende.data, '--tenant', 'demo', '--email', agentEmail, '--name', 'wallboard-test'], {
    encoding: 'utf8',
  });
  agentToken = tok.match(/Bearer SECRET'\):\s*\n\s*(\S+)/)[1];
  marta = (await agentApi('GET', '/auth/me')).user;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await atende?.stop();
});

/** Every agent of the queue's team offline, so that new tasks wait. */
async function nobodyServes() {
  const team = teams.find((t) => queue.team_ids?.includes(t.id));
  for (const id of team?.member_ids ?? [marta.id]) await atende.api('PUT', `/users/${id}/state`, { status: 'offline' });
}

async function login(page, tr, path = '/') {
  await page.goto(atende.base + path);
  await page.getByLabel(tr['login.email'], { exact: true }).fill(supervisorEmail);
  await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
  await page.getByRole('button', { name: tr['login.submit'] }).click();
}

for (const [lang, size] of [
  ['es', { width: 1280, height: 800 }],
  ['pt-BR', { width: 1440, height: 900 }],
  ['en', { width: 1920, height: 1080 }],
]) {
  test(`wallboard in ${lang} at ${size.width}x${size.height}`, async () => {
    const tr = catalogue(lang);
    const context = await browser.newContext({ locale: lang, viewport: size, timezoneId: 'America/Sao_Paulo' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The 401 of /auth/me before logging in is expected.
    page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && errors.push(m.text()));
    const shot = (name, fullPage = false) => page.screenshot({ path: join(artifacts, `wallboard-${lang}-${name}.png`), fullPage });
    const created = [];
    try {
      await atende.api('PATCH', `/queues/${queue.id}`, { routing: { alerts: { longest_wait_above_sec: 0, service_level_below_pct: 0 } } }, { 'If-Match': '*' });
      await nobodyServes();

      await login(page, tr);
      await page.getByRole('link', { name: tr['app.wallboard'] }).click();
      await page.getByRole('heading', { name: tr['app.wallboard'], level: 1 }).waitFor();
      await page.getByTestId('wb-connection').getByText(tr['conn.online']).waitFor();
      const tile = page.locator(`[data-testid="wb-queue"][data-queue="${queue.id}"]`);
      await tile.waitFor();
      assert.equal(norm(await tile.getByRole('heading').innerText()), queueName);
      const row = page.locator(`tr[data-agent="${marta.id}"]`);
      const stateIs = (label) => until(`her state to read ${label}`, async () => norm(await row.getByTestId('wb-agent-state').innerText()).startsWith(label));
      await stateIs(tr['state.offline']);
      // The supervisor sets her away with a reason, from the board (an
      // agent with work in hand would show busy until it ends).
      await row.getByRole('button', { name: fill(tr['wallboard.actions_for'], { name: marta.name }) }).click();
      const dialog = page.getByTestId('wb-agent-dialog');
      await dialog.waitFor();
      await dialog.getByLabel(tr['wallboard.state.new']).selectOption('away');
      const reason = reasons[0];
      await dialog.getByLabel(tr['wallboard.state.reason']).selectOption(reason.code);
      await shot('3-dialog');
      await dialog.getByRole('button', { name: tr['wallboard.apply'] }).click();
      await dialog.locator('.wb-done').waitFor();
      await stateIs(tr['state.away']);
      assert.ok(norm(await row.innerText()).includes(reason.labels[lang] ?? reason.labels.en ?? reason.code));
      // Logging her off asks first.
      await dialog.getByLabel(tr['wallboard.state.new']).selectOption('offline');
      await dialog.getByRole('button', { name: tr['wallboard.apply'] }).click();
      await dialog.getByText(fill(tr['wallboard.state.confirm_offline'], { name: marta.name })).waitFor();
      await dialog.getByRole('button', { name: tr['dialog.cancel'] }).click();
      await dialog.getByRole('button', { name: tr['wallboard.close'] }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal((await atende.api('GET', `/users/${marta.id}/state`)).status, 'away');

      const waiting = async () => Number(norm(await tile.getByTestId('wb-waiting').innerText()).replace(/\D/g, ''));
      const before = await waiting();

      // Two customers arrive while nobody serves the queue: the tile counts
      // them and the longest wait ticks, without a reload.
      for (let i = 0; i < 2; i++) created.push(await atende.api('POST', '/tasks', { queue_id: queue.id, channel: 'chat' }));
      await until('the tile to count two more waiting', async () => (await waiting()) === before + 2);
      const w1 = norm(await tile.getByTestId('wb-longest').innerText());
      await until('the longest wait to tick', async () => norm(await tile.getByTestId('wb-longest').innerText()) !== w1, 4000);
      await shot('1-waiting');

      // A low threshold: the tile shows a longest-wait alert with its level
      // and time, and the live region announces it (once).
      await atende.api('PATCH', `/queues/${queue.id}`, { routing: { alerts: { longest_wait_above_sec: 1 } } }, { 'If-Match': '*' });
      const alert = tile.locator('.wb-alert[data-kind="longest_wait"]');
      await alert.waitFor({ timeout: 10_000 });
      const alertText = norm(await alert.innerText());
      assert.ok(alertText.includes(tr['wallboard.alert.warning']) || alertText.includes(tr['wallboard.alert.critical']), alertText);
      assert.match(await tile.getAttribute('class'), /wb-(warning|critical)/);
      assert.ok(norm(await page.getByTestId('wb-announce').innerText()).includes(queueName));
      // Past twice the threshold it turns critical: announced again, then
      // not at every frame.
      await tile.locator('.wb-alert.wb-critical[data-kind="longest_wait"]').waitFor({ timeout: 10_000 });
      const announced = norm(await page.getByTestId('wb-announce').innerText());
      assert.ok(announced.startsWith(fill(tr['wallboard.alert.announce'], { level: tr['wallboard.alert.critical'], queue: queueName, text: '' }).split(':')[0]), announced);
      const changes = await page.getByTestId('wb-announce').evaluate(
        (el) =>
          new Promise((resolve) => {
            let n = 0;
            new MutationObserver(() => n++).observe(el, { childList: true, characterData: true, subtree: true });
            setTimeout(() => resolve(n), 2000);
          }),
      );
      assert.equal(changes, 0, 'announced once, not at every frame');
      await shot('2-alert');

      // The agent becomes available (through the API): she is offered the
      // chats; the tile's waiting count falls and her row shows the work.
      await atende.api('PUT', `/users/${marta.id}/state`, { status: 'available' });
      await until('the queue to empty', async () => (await waiting()) === before);
      await row.getByTestId('wb-agent-work').locator('li.wb-offered').first().waitFor();
      const offered = (await agentApi('GET', `/tasks?agent_id=${marta.id}&state=offered`)).items.filter((x) => created.some((c) => c.id === x.id));
      for (const x of offered) await agentApi('POST', `/tasks/${x.id}/accept`, {});
      await until('two accepted chats in her row', async () => (await row.getByTestId('wb-agent-work').locator('li:not(.wb-offered)').count()) === 2);
      await alert.waitFor({ state: 'detached', timeout: 10_000 });

      // Her time in state ticks locally between frames.
      const t1 = norm(await row.getByTestId('wb-agent-time').innerText());
      await until('the time in state to tick', async () => norm(await row.getByTestId('wb-agent-time').innerText()) !== t1, 3000);

      if (lang === 'en') {
        // Only an agent can hold a task: a supervisor without the agent role
        // is not offered "Take over".
        await row.getByRole('button', { name: fill(tr['wallboard.actions_for'], { name: marta.name }) }).click();
        await page.getByTestId('wb-agent-dialog').locator('.wb-task').first().waitFor();
        assert.equal(await page.getByTestId('wb-agent-dialog').getByRole('button', { name: tr['wallboard.action.takeover'] }).count(), 0);
        await page.getByTestId('wb-agent-dialog').getByRole('button', { name: tr['wallboard.close'] }).click();
        const me = (await atende.all('/users')).find((u) => u.email === supervisorEmail);
        await atende.api('PATCH', `/users/${me.id}`, { roles: ['supervisor', 'agent'] }, { 'If-Match': '*' });
        await page.reload();
        await row.waitFor();
        // With it, the supervisor takes one chat over, after confirming: it leaves her row.
        await row.getByRole('button', { name: fill(tr['wallboard.actions_for'], { name: marta.name }) }).click();
        const dialog = page.getByTestId('wb-agent-dialog');
        const task = dialog.locator('.wb-task').first();
        const taskId = await task.getAttribute('data-task');
        await task.getByRole('button', { name: tr['wallboard.action.takeover'] }).click();
        await task.getByText(fill(tr['wallboard.takeover.confirm'], { channel: tr['channel.chat'], name: marta.name })).waitFor();
        await task.getByRole('button', { name: tr['wallboard.confirm'] }).click();
        await dialog.getByText(tr['wallboard.takeover.done']).waitFor();
        await until('one chat left in her row', async () => (await row.getByTestId('wb-agent-work').locator('li').count()) === 1);
        assert.equal((await atende.api('GET', `/tasks/${taskId}`)).agent_id, me.id);
        await dialog.getByRole('button', { name: tr['wallboard.close'] }).click();
      }

      // Filter by team: the URL keeps it across a reload; the Spanish queue
      // is not served by São Paulo.
      const sp = teams.find((t) => t.name === 'Atendimento São Paulo');
      await page.getByLabel(tr['wallboard.team']).selectOption(sp.id);
      await page.waitForURL(new RegExp(`team_id=${sp.id}`));
      await tile.waitFor({ state: 'detached' });
      await page.reload();
      await page.locator('[data-testid="wb-queue"]').first().waitFor();
      assert.equal(await page.getByLabel(tr['wallboard.team']).inputValue(), sp.id);
      assert.equal(await tile.count(), 0);
      assert.equal(await row.count(), 0, 'Marta is not in São Paulo');
      await page.getByLabel(tr['wallboard.team']).selectOption('');
      await tile.waitFor();

      // Search by name; sort by a column.
      await page.getByLabel(tr['wallboard.search']).fill(marta.name.split(' ')[0].toUpperCase());
      await until('only Marta listed', async () => (await page.locator('tr[data-agent]').count()) === 1);
      await page.getByLabel(tr['wallboard.search']).fill('');
      await page.getByRole('button', { name: tr['wallboard.col.handled'] }).click();
      assert.ok(norm(await page.locator('th[aria-sort]').textContent()).startsWith(tr['wallboard.col.handled']));
      assert.match(page.url(), /sort=handled/);

      // A message to a team: sent, and echoed on the board.
      const madrid = teams.find((t) => t.name === 'Soporte Madrid');
      await page.getByRole('button', { name: tr['wallboard.action.broadcast'] }).click();
      const bd = page.getByTestId('wb-broadcast-dialog');
      await bd.getByLabel(tr['wallboard.broadcast.to']).selectOption(madrid.id);
      const text = `Pausa escalonada ${lang}`;
      await bd.getByLabel(tr['wallboard.broadcast.text']).fill(text);
      await bd.getByRole('button', { name: tr['wallboard.broadcast.send'] }).click();
      await bd.getByText(fill(tr['wallboard.broadcast.sent'], { to: madrid.name })).waitFor();
      await bd.getByRole('button', { name: tr['wallboard.close'] }).click();
      await page.locator('.wb-echo', { hasText: text }).waitFor({ timeout: 5000 });
      await shot('4-board', true);

      // TV mode: no controls, the tiles fit the screen.
      await page.getByRole('button', { name: tr['wallboard.tv'] }).click();
      await page.waitForURL(/tv=1/);
      await tile.waitFor();
      assert.equal(await page.locator('.topbar').isVisible(), false);
      assert.equal(await page.locator('select:visible, button:visible').count(), 0, 'no controls in TV mode');
      await shot('5-tv');
      await checkFits(page);
      await page.getByRole('link', { name: tr['wallboard.exit_tv'] }).focus();
      await page.keyboard.press('Enter');
      await page.getByLabel(tr['wallboard.team']).waitFor();
      assert.deepEqual(errors, []);
    } catch (e) {
      await shot('failed', true).catch(() => {});
      throw e;
    } finally {
      // Leave her free and offline for the next language: finish her chats
      // (available ends the after-contact work), withdraw the rest.
      for (const x of created) await agentApi('POST', `/tasks/${x.id}/complete`, {}).catch(() => {});
      for (const x of created) await atende.api('POST', `/tasks/${x.id}/cancel`, {}).catch(() => {});
      await atende.api('PUT', `/users/${marta.id}/state`, { status: 'available' }).catch(() => {});
      await atende.api('PUT', `/users/${marta.id}/state`, { status: 'offline' }).catch(() => {});
      await context.close();
    }
  });
}

/** Every tile and agent card inside the viewport, nothing scrolls, text not clipped away. */
async function checkFits(page) {
  const r = await page.evaluate(() => {
    const vw = innerWidth;
    const vh = innerHeight;
    const boxes = [...document.querySelectorAll('.wb-tile-tv, .wb-card')].map((e) => e.getBoundingClientRect());
    const tiles = [...document.querySelectorAll('.wb-tile-tv')];
    const clipped = tiles.filter((t) => t.scrollHeight > t.clientHeight + 2).length;
    const big = tiles.length ? parseFloat(getComputedStyle(tiles[0].querySelector('.wb-big')).fontSize) : 0;
    return {
      n: boxes.length,
      out: boxes.filter((b) => b.right > vw + 1 || b.bottom > vh + 1 || b.width < 40).length,
      scroll: document.scrollingElement.scrollHeight > vh + 1,
      clipped,
      big,
      vh,
    };
  });
  assert.ok(r.n > 0, 'tiles shown');
  assert.equal(r.out, 0, 'every tile inside the screen');
  assert.equal(r.scroll, false, 'the page does not scroll');
  assert.equal(r.clipped, 0, 'no tile content cut off');
  assert.ok(r.big >= r.vh / 30, `the waiting count is large (${r.big}px at ${r.vh}px high)`);
}

test('TV mode at 1920x1080 and 3840x2160', async () => {
  const tr = catalogue('en');
  for (const size of [
    { width: 1920, height: 1080 },
    { width: 3840, height: 2160 },
  ]) {
    const context = await browser.newContext({ locale: 'en', viewport: size, timezoneId: 'Europe/Madrid' });
    const page = await context.newPage();
    try {
      await login(page, tr, '/wallboard?tv=1');
      await page.locator('.wb-tile-tv').first().waitFor();
      await page.getByTestId('wb-connection').getByText(tr['conn.online']).waitFor();
      await page.waitForTimeout(300); // the grid settles on the measured size
      await page.screenshot({ path: join(artifacts, `wallboard-tv-${size.width}x${size.height}.png`) });
      await checkFits(page);
    } finally {
      await context.close();
    }
  }
});

test('an administrator moves an agent between teams and skills from the board', async () => {
  const tr = catalogue('en');
  const context = await browser.newContext({ locale: 'en', viewport: { width: 1440, height: 900 }, timezoneId: 'Europe/Madrid' });
  const page = await context.newPage();
  const us = teams.find((t) => t.name === 'Sales US');
  const before = await atende.api('GET', `/users/${marta.id}`);
  try {
    await page.goto(atende.base + '/wallboard');
    await page.getByLabel(tr['login.email'], { exact: true }).fill('admin@demo.atende.local');
    await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
    await page.getByRole('button', { name: tr['login.submit'] }).click();
    const row = page.locator(`tr[data-agent="${marta.id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: fill(tr['wallboard.actions_for'], { name: marta.name }) }).click();
    await page.getByTestId('wb-agent-dialog').getByRole('button', { name: tr['wallboard.action.move'] }).click();
    const dialog = page.getByTestId('wb-move-dialog');
    await dialog.getByRole('checkbox', { name: us.name }).check();
    // The first skill she lacks, at proficiency 7.
    const skills = await atende.all('/skills');
    const lacking = skills.find((s) => !(before.skills ?? []).some((x) => x.skill_id === s.id));
    if (lacking) await dialog.getByLabel(fill(tr['wallboard.move.proficiency'], { skill: lacking.name })).selectOption('7');
    await page.screenshot({ path: join(artifacts, 'wallboard-en-6-move.png') });
    await dialog.getByRole('button', { name: tr['wallboard.save'] }).click();
    await dialog.getByText(tr['wallboard.move.done']).waitFor();
    // The board follows at once: her row lists the new team.
    await until('her row to list Sales US', async () => norm(await row.locator('.wb-teams').innerText()).includes(us.name));
    const after = await atende.api('GET', `/users/${marta.id}`);
    assert.ok(after.team_ids.includes(us.id));
    if (lacking) assert.equal(after.skills.find((s) => s.skill_id === lacking.id)?.proficiency, 7);
  } finally {
    // Put her back as she was.
    const team = await atende.api('GET', `/teams/${us.id}`);
    await atende.api('PATCH', `/teams/${us.id}`, { member_ids: team.member_ids.filter((id) => id !== marta.id) }, { 'If-Match': '*' }).catch(() => {});
    await atende.api('PATCH', `/users/${marta.id}`, { skills: before.skills }, { 'If-Match': '*' }).catch(() => {});
    await context.close();
  }
});
