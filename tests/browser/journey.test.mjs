// The whole web chat journey, end to end, in three browser contexts against
// a real `atende serve --demo`: a visitor on a customer's site (another
// origin) starts a chat in the widget; the routing engine offers it to the
// one available agent, who accepts it in the desktop; messages flow both
// ways; the agent transfers the chat to a colleague with a note; the
// colleague accepts, answers, and ends it with a disposition (after-contact
// work follows); the visitor rates the chat. Once in each language.
// Screenshots of both sides go to artifacts/journey-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactsDir, catalogue, fill, launchChromium, root, startAtende, startSite, until } from './lib/atende.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const words = (lang) => JSON.parse(readFileSync(join(root, 'web', 'src', 'widget', 'i18n', `${lang}.json`), 'utf8'));

// Per language: a demo queue and two of its agents.
const casts = {
  es: { queue: 'Soporte técnico ES', first: 'marta.sanchez', second: 'nuria.martin', tz: 'Europe/Madrid' },
  'pt-BR': { queue: 'Atendimento BR', first: 'rafael.oliveira', second: 'juliana.costa', tz: 'America/Sao_Paulo' },
  en: { queue: 'Support US', first: 'ashley.johnson', second: 'tyler.brooks', tz: 'America/New_York' },
};
const said = {
  es: ['Hola, mi fibra no va desde esta mañana', 'Hola, lo reviso ahora mismo', 'Te paso con una compañera de nivel 2', 'Ya está: reinicia el router, por favor', '¡Funciona, gracias!'],
  'pt-BR': ['Oi, minha fibra caiu hoje cedo', 'Oi, vou verificar agora', 'Vou passar você para uma colega', 'Pronto: reinicie o roteador, por favor', 'Funcionou, obrigado!'],
  en: ['Hi, my fibre has been down since this morning', 'Hi, let me check that right away', 'I am passing you to a colleague', 'Done: please restart your router', 'It works, thanks!'],
};

let atende, site, browser, artifacts, users;
const vars = {};

before(async () => {
  artifacts = artifactsDir();
  atende = await startAtende();
  site = await startSite(join(here, 'pages'), vars);
  vars.ATENDE = atende.base;
  vars.ATENDE_WS = atende.base.replace(/^http/, 'ws');
  users = await atende.all('/users');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await atende?.stop();
});

/** Logs a demo agent into the desktop in a fresh context and makes them available. */
async function agentDesktop(lang, email, tz, name) {
  const tr = catalogue(lang);
  const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 720 }, timezoneId: tz });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${name}: ${e}`));
  await page.goto(atende.base + '/');
  await page.getByLabel(tr['login.email'], { exact: true }).fill(email);
  await page.getByLabel(tr['login.password'], { exact: true }).fill(atende.password);
  await page.getByRole('button', { name: tr['login.submit'] }).click();
  await page.getByTestId('connection').getByText(tr['conn.online']).waitFor();
  return { context, page, errors, tr };
}

for (const lang of ['es', 'pt-BR', 'en']) {
  test(`a visitor, two agents, a transfer and a survey in ${lang}`, async () => {
    const cast = casts[lang];
    const lines = said[lang];
    const w = words(lang);
    const queue = (await atende.all('/queues')).find((q) => q.name === cast.queue);
    assert.ok(queue, cast.queue);
    const first = users.find((u) => u.email.startsWith(cast.first + '@'));
    const second = users.find((u) => u.email.startsWith(cast.second + '@'));

    // Nobody else of the tenant takes chats during this run.
    for (const u of users.filter((u) => u.roles.includes('agent'))) {
      await atende.api('PUT', `/users/${u.id}/state`, { status: 'offline' });
    }
    const widget = await atende.api('POST', '/chat-widgets', {
      name: `Journey ${lang}`, queue_id: queue.id, allowed_origins: [site.origin], language: lang, active: true,
      pre_chat: { ask_name: true, ask_email: true, consent_required: true, privacy_text: { [lang]: 'Privacy: we only use your data to help you.' } },
    });
    vars.WIDGET = widget.id;

    const a1 = await agentDesktop(lang, first.email, cast.tz, first.name);
    const shot1 = (n) => a1.page.screenshot({ path: join(artifacts, `journey-${lang}-${n}.png`) });
    const visitorCtx = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 800 }, timezoneId: cast.tz });
    const vpage = await visitorCtx.newPage();
    const verrors = [];
    vpage.on('pageerror', (e) => verrors.push(`visitor: ${e}`));
    const vshot = (n) => vpage.screenshot({ path: join(artifacts, `journey-${lang}-${n}.png`) });
    let a2;
    try {
      await a1.page.getByRole('combobox', { name: a1.tr['state.label'] }).selectOption('available');
      await a1.page.getByTestId('state-now').getByText(a1.tr['state.available']).waitFor();

      // The visitor starts a chat on the customer's site.
      await vpage.goto(site.origin + '/');
      const chat = vpage.locator('atende-chat');
      await chat.getByRole('button', { name: w['launcher.open'] }).click();
      await chat.getByLabel(w['prechat.name']).fill(`Cliente ${lang}`);
      await chat.getByLabel(w['prechat.email']).fill(`journey-${lang}-${Date.now()}@example.com`);
      await chat.getByLabel(w['prechat.consent']).check();
      await chat.getByRole('button', { name: w['prechat.start'] }).click();
      const composer = chat.getByRole('textbox', { name: w['composer.label'] });
      await composer.fill(lines[0]);
      await composer.press('Enter');
      await chat.locator('li.me[data-testid="msg"]').filter({ hasText: lines[0] }).waitFor();
      const saved = await vpage.evaluate((id) => JSON.parse(localStorage.getItem(`atende.chat.${id}`)), widget.id);
      const conversationId = saved.conversationId;
      assert.ok(conversationId, 'the widget keeps its conversation');

      // The routing engine offers it to the first agent, who accepts.
      const acceptName = fill(a1.tr['offer.accept_named'], { channel: a1.tr['channel.chat'], queue: queue.name });
      await a1.page.getByRole('button', { name: acceptName }).first().click({ timeout: 20_000 });
      const panel1 = a1.page.locator(`#panel-${conversationId}`);
      await panel1.getByText(lines[0]).waitFor();
      const box1 = panel1.getByRole('textbox', { name: a1.tr['composer.message'] });
      await box1.fill(lines[1]);
      await box1.press('Enter');
      await chat.locator('li.them[data-testid="msg"]').filter({ hasText: lines[1] }).waitFor();
      await chat.getByText(fill(w['agent.joined'], { name: first.name })).waitFor();
      await shot1('1-agent-accepted');
      await vshot('2-visitor-answered');

      // The colleague comes online; the first agent transfers with a note.
      a2 = await agentDesktop(lang, second.email, cast.tz, second.name);
      await a2.page.getByRole('combobox', { name: a2.tr['state.label'] }).selectOption('available');
      await a2.page.getByTestId('state-now').getByText(a2.tr['state.available']).waitFor();
      await box1.fill(lines[2]);
      await box1.press('Enter');
      await panel1.getByRole('button', { name: a1.tr['conv.transfer'], exact: true }).click();
      const tdlg = a1.page.getByTestId('transfer-dialog');
      await tdlg.getByLabel(a1.tr['transfer.to_agent']).check();
      await tdlg.getByRole('combobox', { name: a1.tr['transfer.agent'] }).selectOption(second.id);
      await tdlg.getByLabel(a1.tr['transfer.note']).fill(`VIP ${lang}: fibre down since this morning`);
      await shot1('3-transfer');
      await tdlg.getByRole('button', { name: a1.tr['transfer.submit'] }).click();
      await a1.page.locator(`#panel-${conversationId}`).waitFor({ state: 'detached' });

      // The colleague accepts, reads the note and the history, and answers.
      const accept2 = fill(a2.tr['offer.accept_named'], { channel: a2.tr['channel.chat'], queue: queue.name });
      await a2.page.getByRole('button', { name: accept2 }).first().click({ timeout: 20_000 });
      const panel2 = a2.page.locator(`#panel-${conversationId}`);
      await panel2.getByTestId('note').filter({ hasText: `VIP ${lang}` }).waitFor();
      await panel2.getByText(lines[0]).waitFor();
      await panel2.getByText(lines[1]).waitFor();
      const box2 = panel2.getByRole('textbox', { name: a2.tr['composer.message'] });
      await box2.fill(lines[3]);
      await box2.press('Enter');
      await chat.locator('li.them[data-testid="msg"]').filter({ hasText: lines[3] }).waitFor();
      await chat.getByText(fill(w['agent.joined'], { name: second.name })).waitFor();
      await composer.fill(lines[4]);
      await composer.press('Enter');
      await panel2.getByText(lines[4]).waitFor();
      await a2.page.screenshot({ path: join(artifacts, `journey-${lang}-4-colleague.png`) });

      // The colleague ends the chat with a disposition; wrap-up follows.
      await panel2.getByRole('button', { name: a2.tr['conv.end'], exact: true }).click();
      const edlg = a2.page.getByTestId('end-dialog');
      const disposition = (await atende.all('/dispositions')).find((d) => d.active && !d.require_note);
      await edlg.getByRole('combobox', { name: a2.tr['end.disposition'] }).selectOption(disposition.id);
      await edlg.getByRole('button', { name: a2.tr['end.submit'] }).click();
      await a2.page.getByTestId('wrap-up').waitFor({ timeout: 10_000 });
      await a2.page.screenshot({ path: join(artifacts, `journey-${lang}-5-wrap-up.png`) });
      const conv = await atende.api('GET', `/conversations/${conversationId}`);
      assert.equal(conv.disposition_id, disposition.id);
      assert.equal(conv.assignee_id, second.id);

      // The visitor sees the end and rates the chat.
      await chat.getByRole('radio', { name: fill(w['csat.star'], { count: 5 }) }).check({ timeout: 15_000 });
      await chat.getByLabel(w['csat.comment']).fill('👍');
      await vshot('6-csat');
      await chat.getByRole('button', { name: w['csat.send'] }).click();
      await chat.getByRole('heading', { name: w['thanks.title'] }).waitFor();

      // Every message is in the conversation exactly once, in order, and the
      // survey is the second agent's.
      const events = (await atende.api('GET', `/conversations/${conversationId}/events?limit=500`)).items;
      const bodies = events.filter((e) => e.kind === 'message').map((e) => e.body);
      assert.deepEqual(bodies, lines);
      const answered = await until('the survey event', async () => {
        for (let after = 0; ; ) {
          const page = (await atende.api('GET', `/events?after=${after}&limit=500`)).items;
          const hit = page.find((e) => e.type === 'survey.answered' && e.subject === conversationId);
          if (hit || page.length < 500) return hit;
          after = page[page.length - 1].id;
        }
      });
      assert.equal(answered.data.score, 5);
      assert.equal(answered.data.agent_id, second.id);
      assert.deepEqual([...a1.errors, ...a2.errors, ...verrors], []);
    } catch (e) {
      await shot1('failure-agent1').catch(() => {});
      await a2?.page.screenshot({ path: join(artifacts, `journey-${lang}-failure-agent2.png`) }).catch(() => {});
      await vshot('failure-visitor').catch(() => {});
      throw e;
    } finally {
      await a1.context.close();
      await a2?.context.close();
      await visitorCtx.close();
    }
  });
}
