// The Reports app in a real browser against `atende serve --demo`: real
// traffic through the API (tasks an agent accepts and completes, customers
// who leave after a wait and one who leaves at once), then, once the
// interval statistics have folded it, the supervisor's charts, table, tiles
// and CSV export show those numbers; once per language, at 1280x720 and
// 1920x1080, with the browser in another time zone than the tenant's. Chats
// in a queue of their own, ended by their customers (one of whom comes back)
// and answered with CSAT and NPS, feed the first-contact resolution and
// survey sections. Screenshots: artifacts/reports-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, catalogue, fill, launchChromium, startAtende } from './lib/atende.mjs';

const supervisorEmail = 'javier.morales@demo.atende.local';
const agentEmail = 'marta.sanchez@demo.atende.local';
const queueName = 'Soporte técnico ES';
// What the traffic below makes of the queue today.
const want = { offered: 6, handled: 3, abandoned: 3, short_abandoned: 1, completed: 2, service_level: 3 / 5, abandon_rate: 2 / 5 };

let atende, browser, artifacts, queue, agentToken, agentId, quality;

// The chats below, in the quality queue: four resolved, one of them followed
// by the same customer coming back (FCR 3/4; the demo's own conversations
// count in the other queues); CSAT 5, 4, 2 (2 of 3 satisfied, mean 11/3); NPS 10,
// 9, 6 (2 promoters, 1 detractor of 3: +33).
const wantFCR = { resolved: 4, first_contact: 3, repeated: 1, fcr: 3 / 4 };
const wantSurvey = { csat: 2 / 3, csat_answers: 3, nps: 33, nps_answers: 3, promoters: 2, passives: 0, detractors: 1 };
const shopOrigin = 'https://shop.example.test';

/** Calls the visitor API as a customer's browser on the shop's site would. */
async function visitor(method, path, token, body) {
  const headers = { Origin: shopOrigin, 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(atende.base + '/api/v1' + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

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
async function until(what, f, timeout = 30_000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await f();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  artifacts = artifactsDir();
  atende = await startAtende();
  queue = (await atende.all('/queues')).find((q) => q.name === queueName);
  assert.ok(queue, `demo queue ${queueName}`);
  const tok = execFileSync(atende.bin, ['admin', 'create-token', '--data', atende.data, '--tenant', 'demo', '--email', agentEmail, '--name', 'reports-test'], {
    encoding: 'utf8',
  });
  agentToken = tok.match(/Bearer SECRET'\):\s*\n\s*(\S+)/)[1];
  agentId = (await agentApi('GET', '/auth/me')).user.id;
  await agentApi('PUT', `/users/${agentId}/state`, { status: 'available' });

  // Six customers arrive. The agent (the only one available for the queue,
  // with room for three chats) is offered three, accepts them at once
  // (within the 20 s service-level threshold) and completes two.
  const tasks = [];
  for (let i = 0; i < 6; i++) tasks.push(await atende.api('POST', '/tasks', { queue_id: queue.id, channel: 'chat' }));
  const offered = await until('three offers to the agent', async () => {
    const page = await agentApi('GET', `/tasks?agent_id=${agentId}&state=offered`);
    const mine = page.items.filter((t) => tasks.some((x) => x.id === t.id));
    return mine.length >= 3 && mine.slice(0, 3);
  });
  for (const t of offered) await agentApi('POST', `/tasks/${t.id}/accept`, {});
  for (const t of offered.slice(0, 2)) await agentApi('POST', `/tasks/${t.id}/complete`, {});
  // Of the three left waiting, one customer leaves at once (a short abandon,
  // out of the abandon rate and service level), two after more than 5 s.
  const left = tasks.filter((t) => !offered.some((o) => o.id === t.id));
  assert.equal(left.length, 3);
  await atende.api('POST', `/tasks/${left[0].id}/cancel`, { abandoned: true });
  const waited = Date.parse(left[1].enqueued_at ?? left[1].created_at) + 5_600 - Date.now();
  if (waited > 0) await new Promise((r) => setTimeout(r, waited)); // past the short-abandon threshold
  for (const t of left.slice(1)) await atende.api('POST', `/tasks/${t.id}/cancel`, { abandoned: true });

  // The aggregator folds events about 2 s behind the present.
  await until('the queue report to fold the traffic', async () => {
    const r = await atende.api('GET', `/reports/queues?queue_id=${queue.id}&group=total`);
    const tot = r.totals?.find((l) => l.id === queue.id);
    return tot && tot.offered === want.offered && tot.abandoned === want.abandoned && tot.handled === want.handled && tot.completed === want.completed;
  });
  await until('the agent report to fold the traffic', async () => {
    const r = await atende.api('GET', `/reports/agents?agent_id=${agentId}&group=total`);
    return r.totals?.find((l) => l.id === agentId)?.handled === want.handled;
  });

  // Quality: a queue with no agents, so the figures above stay as they are,
  // and a chat widget on it; the tenant's chats ask CSAT and NPS.
  quality = await atende.api('POST', '/queues', { name: 'Calidad', channels: ['chat'], team_ids: queue.team_ids, routing: queue.routing });
  await atende.api('PATCH', '/survey-settings', { chat: { enabled: true, kind: 'both' } }, { 'If-Match': '*' });
  const widget = await atende.api('POST', '/chat-widgets', { name: 'Reports test', queue_id: quality.id, allowed_origins: [shopOrigin], language: 'es', active: true });
  const chat = async (who, visitorId) => {
    const s = await visitor('POST', `/chat/${widget.id}/sessions`, null, { visitor_id: visitorId, name: who, email: `${who.toLowerCase()}@example.com`, consent: true, language: 'es' });
    assert.ok(s.token, `a chat session: ${JSON.stringify(s)}`);
    // Marta takes it over from the desktop, then the customer ends it: resolved.
    await atende.api('PATCH', `/conversations/${s.conversation_id}`, { assignee_id: agentId }, { 'If-Match': '*' });
    await visitor('POST', '/chat/end', s.token);
    return s;
  };
  const sessions = [];
  for (const [who, csat, nps] of [['Ana', 5, 10], ['Bruno', 4, 9], ['Carla', 2, 6]]) {
    const s = await chat(who);
    await visitor('POST', '/chat/csat', s.token, { score: csat });
    await visitor('POST', '/chat/nps', s.token, { score: nps, comment: 'ok' });
    sessions.push(s);
  }
  // Ana comes back the same day: her first chat was not resolved at first contact.
  const again = await chat('Ana', sessions[0].visitor_id);
  assert.notEqual(again.conversation_id, sessions[0].conversation_id);
  await until('the FCR and survey reports to fold the chats', async () => {
    const f = await atende.api('GET', `/reports/fcr?by=queue&id=${quality.id}&group=total`);
    const s = await atende.api('GET', `/reports/surveys?by=queue&id=${quality.id}&group=total`);
    const fl = f.totals?.find((l) => l.id === quality.id);
    const sl = s.totals?.find((l) => l.id === quality.id);
    return fl?.resolved === wantFCR.resolved && fl.repeated === wantFCR.repeated && sl?.csat_answers === 3 && sl.nps_answers === 3;
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await atende?.stop();
});

const norm = (s) => s.replace(/[\s\u00a0\u202f]+/g, ' ').trim();

for (const [lang, size, locale] of [
  ['es', { width: 1280, height: 720 }, 'es-ES'],
  ['pt-BR', { width: 1920, height: 1080 }, 'pt-BR'],
  ['en', { width: 1280, height: 720 }, 'en'],
  ['es', { width: 1920, height: 1080 }, 'es-ES'],
]) {
  test(`reports in ${lang} at ${size.width}x${size.height}`, async () => {
    const tr = catalogue(lang);
    const pct = (v) => norm(new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(v));
    const context = await browser.newContext({ locale: lang, viewport: size, timezoneId: 'America/Sao_Paulo', acceptDownloads: true });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The 401 of /auth/me before logging in is expected.
    page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && errors.push(m.text()));
    const tag = `${lang}-${size.width}`;
    const shot = (name, fullPage = true) => page.screenshot({ path: join(artifacts, `reports-${tag}-${name}.png`), fullPage });
    const t0 = Date.now();
    const step = (what) => process.env.REPORTS_TRACE && console.log(`${tag} ${what} ${Date.now() - t0} ms`);
    try {
      // A shared link with the state in the URL opens after logging in.
      const shared = size.width === 1920;
      await page.goto(atende.base + (shared ? `/reports?range=today&group=hour&queue=${queue.id}` : '/'));
      await page.getByLabel(tr['login.email'], { exact: true }).fill(supervisorEmail);
      await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
      await page.getByRole('button', { name: tr['login.submit'] }).click();
      if (!shared) {
        await page.getByRole('link', { name: tr['app.reports'] }).click();
        await page.getByRole('heading', { name: tr['reports.title'], level: 1 }).waitFor();
        // The page writes its state into the URL once it has rendered.
        await page.waitForURL(/\/reports\?range=today&group=hour/);
        // The queue filter: a multi-select; the URL follows.
        await page.getByTestId('queue-filter').locator('summary').click();
        await page.getByRole('checkbox', { name: queueName }).check();
        await page.getByTestId('queue-filter').locator('summary').click();
        await page.waitForURL(new RegExp(`queue=${queue.id}`));
      }
      step('login');
      const section = page.getByTestId('section-queues');
      await section.getByTestId('queue-table').waitFor();
      assert.equal(norm(await page.getByTestId('queue-filter').locator('summary').innerText()), queueName);

      // Tiles and the table: the traffic's numbers; no survey, so CSAT is a dash.
      const tile = async (k) => norm(await page.getByTestId(`kpi-${k}`).locator('.tile-value').innerText());
      assert.equal(await tile('offered'), String(want.offered));
      assert.equal(await tile('handled'), String(want.handled));
      assert.equal(await tile('abandoned'), String(want.abandoned));
      assert.equal(await tile('service_level'), pct(want.service_level));
      const row = section.getByTestId('queue-table').locator('tbody tr', { hasText: queueName });
      const cell = async (r, col) => norm(await r.locator(`[data-col="${col}"]`).innerText());
      assert.equal(await cell(row, 'offered'), '6');
      assert.equal(await cell(row, 'handled'), '3');
      assert.equal(await cell(row, 'abandoned'), '3');
      assert.equal(await cell(row, 'short_abandoned'), '1');
      assert.equal(await cell(row, 'service_level'), pct(want.service_level));
      assert.equal(await cell(row, 'abandon_rate'), pct(want.abandon_rate));
      const foot = section.getByTestId('queue-table').locator('tfoot tr');
      assert.equal(await cell(foot, 'offered'), '6');
      assert.equal(norm(await foot.locator('td').nth(12).innerText()), '—', 'CSAT without answers is a dash, not 0 %');

      step('table');
      // The volume chart: an image with a summary, bars drawn, and its data
      // table (the accessible alternative) adding up to the traffic. The
      // hours are the tenant's (Madrid), not the browser's (São Paulo).
      const volume = page.getByTestId('chart-volume');
      const svg = volume.locator('svg[role="img"]');
      const label = norm(await svg.getAttribute('aria-label'));
      assert.ok(label.startsWith(tr['reports.volume_title']), label);
      assert.ok(label.includes(pct(want.service_level)), label);
      assert.ok((await volume.locator('rect.bar').count()) >= 3, 'bars for offered, handled, abandoned');
      const table = volume.locator('table.sr-only');
      const head = (await table.locator('thead th').allTextContents()).map(norm);
      assert.deepEqual(head.slice(1, 5), [tr['reports.offered'], tr['reports.handled'], tr['reports.abandoned'], tr['reports.service_level']]);
      const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
      const report = await atende.api('GET', `/reports/queues?queue_id=${queue.id}&group=hour`);
      const midnight = new Intl.DateTimeFormat(locale, { timeZone: 'Europe/Madrid', hour: '2-digit', minute: '2-digit' }).format(new Date(report.from));
      assert.ok(norm(rows[0][0]).includes(norm(midnight)), `the first hour is midnight in Madrid: ${rows[0][0]}`);
      const sum = (i) => rows.reduce((a, r) => a + (Number(r[i].replace(/\D/g, '')) || 0), 0);
      assert.deepEqual([sum(1), sum(2), sum(3)], [6, 3, 3]);
      const busy = rows.findIndex((r) => r[1] !== '0');
      assert.ok(busy >= 0);
      // Empty hours: no service level to measure, shown as a dash.
      assert.ok(rows.some((r) => r[4] === '—'), 'hours without traffic show — for the service level');
      // The SL line sits against the target (80 %).
      assert.ok(await volume.locator('.target').isVisible());
      assert.ok(norm(await volume.locator('.target-label').textContent()).includes(pct(0.8)));

      step('chart');
      // Tooltip on hover, and keyboard: the chart is one tab stop, the arrow
      // keys move from hour to hour and the figures are read out.
      const hits = volume.locator('rect.hit');
      await hits.nth(busy).hover();
      const tip = volume.locator('.chart-tip');
      await tip.waitFor();
      assert.ok(norm(await tip.innerText()).includes(tr['reports.offered']));
      step('hover');
      await shot('1-queues', false);
      step('shot1');
      await hits.nth(0).focus();
      await page.keyboard.press('End');
      await page.keyboard.press('Home');
      for (let i = 0; i < busy; i++) await page.keyboard.press('ArrowRight');
      assert.equal(await hits.nth(busy).evaluate((el) => el === document.activeElement), true);
      const said = norm(await volume.locator('[aria-live]').innerText());
      assert.ok(said.startsWith(rows[busy][0]) && said.includes(`${tr['reports.offered']} ${rows[busy][1]}`), said);
      assert.equal(await hits.nth(busy).getAttribute('tabindex'), '0');

      // The abandon curve and speed charts are there with their summaries.
      const abandonLabel = norm(await page.getByTestId('chart-abandon').locator('svg[role="img"]').getAttribute('aria-label'));
      assert.ok(abandonLabel.includes(pct(want.abandon_rate)), abandonLabel);
      await page.getByTestId('chart-speed').locator('svg[role="img"]').waitFor();

      // The channel mix: all chat (the six tasks and the quality chats).
      const chats = (await atende.api('GET', '/reports/channels?group=total')).totals.find((l) => l.id === 'chat').offered;
      assert.equal(chats, 6 + 4);
      const channels = page.getByTestId('chart-channels');
      assert.ok(norm(await channels.locator('svg[role="img"]').getAttribute('aria-label')).includes(`${tr['channel.chat']} ${chats}`));

      // Agents: the agent who handled the three, with state time.
      const agents = page.getByTestId('agent-table');
      const marta = agents.locator('tbody tr', { hasText: 'Marta' });
      assert.equal(norm(await marta.locator('[data-col="handled"]').innerText()), '3');
      assert.equal(norm(await marta.locator('[data-col="completed"]').innerText()), '2');

      step('keyboard');
      // CSV export: the same API with format=csv, matching the table.
      const csvLink = page.getByTestId('csv-queues');
      assert.match(await csvLink.getAttribute('href'), new RegExp(`/api/v1/reports/queues\\?.*queue_id=${queue.id}.*format=csv`));
      const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
      const csv = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
      assert.deepEqual(csv[0].slice(0, 6), ['period', 'id', 'name', 'offered', 'handled', 'abandoned']);
      const col = (name) => csv[0].indexOf(name);
      const total = (name) => csv.slice(1).reduce((a, r) => a + Number(r[col(name)]), 0);
      assert.deepEqual([total('offered'), total('handled'), total('abandoned'), total('short_abandoned')], [6, 3, 3, 1]);
      assert.ok(csv.slice(1).every((r) => r[col('id')] === queue.id));
      await shot('2-page');
      step('csv');

      // First-contact resolution and surveys of the quality queue's chats.
      await page.getByTestId('queue-filter').locator('summary').click();
      await page.getByRole('checkbox', { name: 'Calidad' }).check();
      await page.getByRole('checkbox', { name: queueName }).uncheck();
      await page.getByTestId('queue-filter').locator('summary').click();
      await page.waitForURL(new RegExp(`queue=${quality.id}$|queue=${quality.id}&`));
      const fcr = page.getByTestId('section-fcr');
      await fcr.getByTestId('fcr-table').waitFor();
      const ftile = async (k) => norm(await fcr.getByTestId(`kpi-${k}`).locator('.tile-value').innerText());
      assert.equal(await ftile('resolved'), String(wantFCR.resolved));
      assert.equal(await ftile('first_contact'), String(wantFCR.first_contact));
      assert.equal(await ftile('repeated'), String(wantFCR.repeated));
      assert.equal(await ftile('fcr'), pct(wantFCR.fcr));
      // Today's resolutions can still see a repeat: provisional, and said so.
      await fcr.getByTestId('fcr-provisional').waitFor();
      const fcrChart = fcr.getByTestId('chart-fcr');
      assert.ok(norm(await fcrChart.locator('svg[role="img"]').getAttribute('aria-label')).includes(pct(wantFCR.fcr)));
      assert.ok((await fcrChart.locator('rect.bar').count()) >= 2, 'bars for first contact and repeat');
      const frow = fcr.getByTestId('fcr-table').locator('tbody tr', { hasText: 'Calidad' });
      assert.equal(await cell(frow, 'resolved'), '4');
      assert.equal(await cell(frow, 'fcr'), pct(wantFCR.fcr));
      // Per agent: every queue's conversations (the demo's too), as the API says.
      await fcr.getByRole('button', { name: tr['reports.by_agent'] }).click();
      const fagent = fcr.getByTestId('fcr-table').locator('tbody tr', { hasText: 'Marta' });
      const martaFCR = (await atende.api('GET', `/reports/fcr?by=agent&id=${agentId}&group=total`)).totals.find((l) => l.id === agentId);
      assert.equal(await cell(fagent, 'repeated'), String(martaFCR.repeated));
      assert.equal(await cell(fagent, 'fcr'), pct(martaFCR.fcr));
      assert.match(await fcr.getByTestId('csv-fcr').getAttribute('href'), /\/api\/v1\/reports\/fcr\?.*by=agent.*format=csv/);
      const [fcsv] = await Promise.all([page.waitForEvent('download'), fcr.getByTestId('csv-fcr').click()]);
      const frows = readFileSync(await fcsv.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
      assert.deepEqual(frows[0].slice(3, 7), ['resolved', 'first_contact', 'repeated', 'fcr']);
      assert.equal(frows.slice(1).filter((r) => r[1] === agentId).reduce((a, r) => a + Number(r[3]), 0), martaFCR.resolved);

      const sv = page.getByTestId('section-surveys');
      const stile = async (k) => norm(await sv.getByTestId(`kpi-${k}`).locator('.tile-value').innerText());
      assert.equal(await stile('csat'), pct(wantSurvey.csat));
      assert.equal(await stile('nps'), '+' + wantSurvey.nps);
      const nps = sv.getByTestId('chart-nps');
      assert.ok(norm(await nps.locator('svg[role="img"]').getAttribute('aria-label')).includes('+' + wantSurvey.nps));
      assert.ok(norm(await sv.getByTestId('chart-csat').locator('svg[role="img"]').getAttribute('aria-label')).includes(pct(wantSurvey.csat)));
      const srow = sv.getByTestId('survey-table').locator('tbody tr', { hasText: 'Marta' });
      assert.equal(await cell(srow, 'csat_answers'), '3');
      assert.equal(await cell(srow, 'promoters'), '2');
      assert.equal(await cell(srow, 'passives'), '0');
      assert.equal(await cell(srow, 'detractors'), '1');
      assert.equal(await cell(srow, 'nps'), '+33');
      await sv.getByRole('button', { name: tr['reports.by_queue'] }).click();
      await sv.getByTestId('survey-table').locator('tbody tr', { hasText: 'Calidad' }).waitFor();
      await fcr.screenshot({ path: join(artifacts, `reports-${tag}-4-fcr.png`) });
      await sv.screenshot({ path: join(artifacts, `reports-${tag}-5-surveys.png`) });
      step('quality');

      if (lang === 'es' && !shared) {
        // Yesterday had no contacts: an empty state, not charts of zeros.
        await page.getByTestId('range').selectOption('yesterday');
        await page.getByTestId('queues-empty').waitFor();
        assert.match(page.url(), /range=yesterday/);
        // This month by day: the demo's dispositions as horizontal bars, one
        // per disposition set this month (on the tenant's clock).
        await page.getByTestId('range').selectOption('month');
        await page.waitForURL(/range=month&group=day/);
        const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Madrid' }).format(new Date());
        const month = await atende.api('GET', `/reports/dispositions?group=total&from=${today.slice(0, 8)}01&to=${today}`);
        const set = (month.totals ?? []).filter((l) => l.count > 0);
        if (set.length > 0) {
          const bars = page.getByTestId('chart-dispositions');
          await bars.waitFor();
          assert.equal(await bars.locator('rect.hit').count(), set.length);
          const top = set.sort((a, b) => b.count - a.count)[0];
          assert.ok(norm(await bars.locator('svg[role="img"]').getAttribute('aria-label')).includes(top.name));
        } else {
          await page.getByText(tr['reports.empty_dispositions']).waitFor();
        }
        await shot('3-month');
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
