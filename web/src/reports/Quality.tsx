// The quality sections of the reports page: first-contact resolution and
// the customers' CSAT and NPS answers, each over time (from the per-channel
// report, which holds every conversation, or the per-queue one when the page
// is narrowed to some queues) and broken down by queue, channel or agent
// (the reports' per-key totals).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { t, type Key } from '../i18n';
import { palette, TimeChart, type Series } from './charts';
import { none, type ReportFormat } from './format';
import {
  breakdowns,
  fcrByPeriod,
  qualityPath,
  surveyKPIs,
  surveysByPeriod,
  type Breakdown,
  type FCRLine,
  type Period,
  type QualityKind,
  type Report,
  type ReportState,
  type SurveyLine,
} from './model';

export interface QualityData<T> {
  /** Per period, for the charts and the overall total: by channel (every
   * conversation), or by queue when the page is narrowed to some queues. */
  over: Report<T>;
  /** Whole-range totals per queue, channel and agent. */
  byQueue: Report<T>;
  byChannel: Report<T>;
  byAgent: Report<T>;
}

const breakdownKey: Record<Breakdown, Key> = { queue: 'reports.by_queue', channel: 'reports.by_channel', agent: 'reports.by_agent' };
const headKey: Record<Breakdown, Key> = { queue: 'reports.queue', channel: 'reports.channel', agent: 'reports.agent' };
const channels = ['voice', 'chat', 'email', 'sms', 'social'];

function keyName(by: Breakdown, l: { id?: string; name?: string }): string {
  if (by === 'channel') return channels.includes(l.id ?? '') ? t(`channel.${l.id}` as Key) : (l.id ?? '');
  return l.name || l.id || '';
}

function QualitySection(p: { id: string; kind: QualityKind; title: string; state: ReportState; by?: Breakdown; children: ComponentChildren }) {
  return (
    <section class="panel report-section" aria-labelledby={p.id} data-testid={`section-${p.kind}`}>
      <div class="report-section-head">
        <h2 id={p.id}>{p.title}</h2>
        <a
          class="btn btn-small csv"
          href={'/api/v1' + qualityPath(p.kind, p.by ?? 'queue', p.state, { csv: true })}
          download={`${p.kind}-${p.by ?? 'queue'}-${p.state.from}_${p.state.to}-${p.state.group}.csv`}
          aria-label={t('reports.csv_named', { report: p.title })}
          data-testid={`csv-${p.kind}`}
        >
          {t('reports.csv')}
        </a>
      </div>
      {p.children}
    </section>
  );
}

function BreakdownPicker({ by, setBy, label }: { by: Breakdown; setBy: (b: Breakdown) => void; label: string }) {
  return (
    <div class="breakdown" role="group" aria-label={label}>
      {breakdowns.map((b) => (
        <button key={b} type="button" class={b === by ? 'btn btn-small on' : 'btn btn-small btn-ghost'} aria-pressed={b === by} onClick={() => setBy(b)}>
          {t(breakdownKey[b])}
        </button>
      ))}
    </div>
  );
}

type Tile = { key: string; label: string; value: string; note?: string };

function Tiles({ tiles }: { tiles: Tile[] }) {
  return (
    <dl class="tiles">
      {tiles.map((x) => (
        <div key={x.key} class="tile" data-testid={`kpi-${x.key}`}>
          <dt>{x.label}</dt>
          <dd>
            <span class="tile-value">{x.value}</span>
            {x.note && <span class="tile-note">{x.note}</span>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

const overall = <T extends { id?: string }>(r: Report<T>) => (r.totals ?? []).find((l) => !l.id);
const perKey = <T extends { id?: string }>(r: Report<T>) => (r.totals ?? []).filter((l) => l.id);

function pick<T>(d: QualityData<T>, by: Breakdown): Report<T> {
  return by === 'queue' ? d.byQueue : by === 'agent' ? d.byAgent : d.byChannel;
}

export function FCRSection(p: { data: QualityData<FCRLine>; state: ReportState; periods: Period[]; f: ReportFormat }) {
  const { data, f, periods } = p;
  const [by, setBy] = useState<Breakdown>('queue');
  const title = t('reports.fcr_title');
  const total = overall(data.over);
  if (!total || total.resolved === 0) {
    return (
      <QualitySection id="rf" kind="fcr" title={title} state={p.state}>
        <p class="empty" data-testid="fcr-empty">
          {t('reports.empty_fcr')}
        </p>
      </QualitySection>
    );
  }
  const sums = fcrByPeriod(data.over.lines ?? [], periods, p.state.group);
  const first: Series = { key: 'first', label: t('reports.first_contact'), color: palette.green, values: sums.map((s) => s.first_contact) };
  const repeated: Series = { key: 'repeated', label: t('reports.repeated'), color: palette.vermillion, hatch: true, values: sums.map((s) => s.repeated) };
  const rate: Series = { key: 'fcr', label: t('reports.fcr'), color: palette.black, marker: 'circle', values: sums.map((s) => s.fcr) };
  // The table adds up on its own: its total is the breakdown's (every
  // queue's conversations per agent or channel, even when the page is
  // narrowed to some queues).
  const table = pick(data, by);
  const rows = perKey(table).sort((a, b) => keyName(by, a).localeCompare(keyName(by, b)));
  const foot = overall(table) ?? total;
  const provisional = [...(data.over.lines ?? []), total].some((l) => l.provisional);
  return (
    <QualitySection id="rf" kind="fcr" title={title} state={p.state} by={by}>
      <Tiles
        tiles={[
          { key: 'resolved', label: t('reports.resolved'), value: f.number(total.resolved) },
          { key: 'first_contact', label: t('reports.first_contact'), value: f.number(total.first_contact) },
          { key: 'repeated', label: t('reports.repeated'), value: f.number(total.repeated) },
          { key: 'fcr', label: t('reports.fcr'), value: f.percent(total.fcr), note: provisional ? t('reports.provisional') : undefined },
        ]}
      />
      <div class="charts">
        <TimeChart
          testId="chart-fcr"
          title={t('reports.fcr_chart')}
          summary={t('reports.fcr_summary', {
            resolved: f.number(total.resolved),
            first: f.number(total.first_contact),
            fcr: f.percent(total.fcr),
          })}
          categories={periods.map(f.short)}
          longCategories={periods.map(f.long)}
          bars={[first, repeated]}
          stacked
          lines={[rate]}
          left={{ format: (v) => f.number(v), count: true }}
          right={{ format: (v) => f.percent(v), max: 1 }}
        />
      </div>
      {provisional && (
        <p class="muted note-line" data-testid="fcr-provisional">
          {t('reports.fcr_provisional_note')}
        </p>
      )}
      <BreakdownPicker by={by} setBy={setBy} label={t('reports.breakdown')} />
      <div class="table-wrap">
        <table class="report-table" data-testid="fcr-table">
          <caption class="sr-only">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{t(headKey[by])}</th>
              <th scope="col" class="num">{t('reports.resolved')}</th>
              <th scope="col" class="num">{t('reports.first_contact')}</th>
              <th scope="col" class="num">{t('reports.repeated')}</th>
              <th scope="col" class="num">{t('reports.fcr')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <FCRRow key={l.id} l={l} f={f} name={keyName(by, l)} />
            ))}
          </tbody>
          <tfoot>
            <FCRRow l={foot} f={f} name={t('reports.total')} />
          </tfoot>
        </table>
      </div>
    </QualitySection>
  );
}

function FCRRow({ l, f, name }: { l: FCRLine; f: ReportFormat; name: string }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num" data-col="resolved">{f.number(l.resolved)}</td>
      <td class="num" data-col="first_contact">{f.number(l.first_contact)}</td>
      <td class="num" data-col="repeated">{f.number(l.repeated)}</td>
      <td class="num" data-col="fcr">{f.percent(l.fcr)}</td>
    </tr>
  );
}

const npsText = (f: ReportFormat, v: number | null) => (v === null ? none : (v > 0 ? '+' : '') + f.number(Math.round(v)));

export function SurveySection(p: { data: QualityData<SurveyLine>; state: ReportState; periods: Period[]; f: ReportFormat }) {
  const { data, f, periods } = p;
  const [by, setBy] = useState<Breakdown>('agent');
  const title = t('reports.surveys_title');
  const line = overall(data.over);
  if (!line || line.csat_answers + line.nps_answers === 0) {
    return (
      <QualitySection id="rs" kind="surveys" title={title} state={p.state}>
        <p class="empty" data-testid="surveys-empty">
          {t('reports.empty_surveys')}
        </p>
      </QualitySection>
    );
  }
  const total = surveyKPIs(line);
  const sums = surveysByPeriod(data.over.lines ?? [], periods, p.state.group);
  const cats = periods.map(f.short);
  const longCats = periods.map(f.long);
  const answers: Series = { key: 'answers', label: t('reports.csat_answers'), color: palette.sky, values: sums.map((s) => s.csat_answers) };
  const csat: Series = { key: 'csat', label: t('reports.csat'), color: palette.black, marker: 'circle', values: sums.map((s) => s.csat) };
  const promoters: Series = { key: 'promoters', label: t('reports.promoters'), color: palette.green, values: sums.map((s) => s.nps_promoters) };
  const passives: Series = { key: 'passives', label: t('reports.passives'), color: palette.orange, hatch: true, values: sums.map((s) => s.nps_passives) };
  const detractors: Series = { key: 'detractors', label: t('reports.detractors'), color: palette.vermillion, values: sums.map((s) => s.nps_detractors) };
  const table = pick(data, by);
  const rows = perKey(table).sort((a, b) => keyName(by, a).localeCompare(keyName(by, b)));
  const foot = overall(table) ?? line;
  return (
    <QualitySection id="rs" kind="surveys" title={title} state={p.state} by={by}>
      <Tiles
        tiles={[
          { key: 'csat', label: t('reports.csat'), value: f.percent(total.csat), note: t('reports.answers_n', { count: f.number(total.csat_answers) }) },
          { key: 'average_csat', label: t('reports.average_csat'), value: total.average_csat === null ? none : `${f.number(Math.round(total.average_csat * 100) / 100)} / 5` },
          { key: 'nps', label: t('reports.nps'), value: npsText(f, total.nps), note: t('reports.answers_n', { count: f.number(total.nps_answers) }) },
          {
            key: 'nps_split',
            label: t('reports.nps_split'),
            value: `${f.number(total.nps_promoters)} · ${f.number(total.nps_passives)} · ${f.number(total.nps_detractors)}`,
          },
        ]}
      />
      <div class="charts charts-even">
        <TimeChart
          testId="chart-csat"
          title={t('reports.csat_chart')}
          summary={t('reports.csat_summary', { csat: f.percent(total.csat), count: f.number(total.csat_answers) })}
          categories={cats}
          longCategories={longCats}
          bars={[answers]}
          lines={[csat]}
          left={{ format: (v) => f.number(v), count: true }}
          right={{ format: (v) => f.percent(v), max: 1 }}
        />
        <TimeChart
          testId="chart-nps"
          title={t('reports.nps_chart')}
          summary={t('reports.nps_summary', {
            nps: npsText(f, total.nps),
            promoters: f.number(total.nps_promoters),
            passives: f.number(total.nps_passives),
            detractors: f.number(total.nps_detractors),
          })}
          categories={cats}
          longCategories={longCats}
          bars={[promoters, passives, detractors]}
          stacked
          left={{ format: (v) => f.number(v), count: true }}
        />
      </div>
      <BreakdownPicker by={by} setBy={setBy} label={t('reports.breakdown')} />
      <div class="table-wrap">
        <table class="report-table" data-testid="survey-table">
          <caption class="sr-only">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{t(headKey[by])}</th>
              <th scope="col" class="num">{t('reports.csat_answers')}</th>
              <th scope="col" class="num">{t('reports.csat')}</th>
              <th scope="col" class="num">{t('reports.average_csat')}</th>
              <th scope="col" class="num">{t('reports.nps_answers')}</th>
              <th scope="col" class="num">{t('reports.promoters')}</th>
              <th scope="col" class="num">{t('reports.passives')}</th>
              <th scope="col" class="num">{t('reports.detractors')}</th>
              <th scope="col" class="num">{t('reports.nps')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <SurveyRow key={l.id} l={l} f={f} name={keyName(by, l)} />
            ))}
          </tbody>
          <tfoot>
            <SurveyRow l={foot} f={f} name={t('reports.total')} />
          </tfoot>
        </table>
      </div>
    </QualitySection>
  );
}

function SurveyRow({ l, f, name }: { l: SurveyLine; f: ReportFormat; name: string }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num" data-col="csat_answers">{f.number(l.csat_answers)}</td>
      <td class="num" data-col="csat">{f.percent(l.csat)}</td>
      <td class="num" data-col="average_csat">{l.average_csat === null ? none : f.number(Math.round(l.average_csat * 100) / 100)}</td>
      <td class="num" data-col="nps_answers">{f.number(l.nps_answers)}</td>
      <td class="num" data-col="promoters">{f.number(l.nps_promoters)}</td>
      <td class="num" data-col="passives">{f.number(l.nps_passives)}</td>
      <td class="num" data-col="detractors">{f.number(l.nps_detractors)}</td>
      <td class="num" data-col="nps">{npsText(f, l.nps)}</td>
    </tr>
  );
}
