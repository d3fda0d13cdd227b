// Small hand-written SVG charts. Each one is a figure with a heading, an
// SVG with role="img" and a one-sentence summary as its name, a legend, a
// tooltip on hover and on keyboard focus (Tab reaches the chart, the arrow
// keys move from point to point, and the figures are read out), and a
// visually hidden table with every number as the accessible alternative.
// Colours are the Okabe-Ito palette (told apart with the common forms of
// colour blindness); some series are hatched and lines differ in dash and
// marker so a grey print still tells them apart.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { countScale, niceScale } from './model';

export const palette = {
  blue: '#0072B2',
  green: '#009E73',
  vermillion: '#D55E00',
  orange: '#E69F00',
  sky: '#56B4E9',
  purple: '#CC79A7',
  black: '#1b2333',
  grey: '#6b7280',
};

export interface SeriesStyle {
  key: string;
  label: string;
  color: string;
  /** Diagonal stripes over the colour. */
  hatch?: boolean;
  /** Lines: an SVG dash pattern. */
  dash?: string;
  marker?: 'circle' | 'square' | 'diamond';
}

export interface Series extends SeriesStyle {
  values: (number | null)[];
}

export interface Axis {
  format(v: number): string;
  /** A fixed top (1 for percentages); else from the data. */
  max?: number;
  /** Whole numbers only. */
  count?: boolean;
}

let nextId = 0;
function useUid(): string {
  return useMemo(() => `rc${++nextId}`, []);
}

/** The element's width, kept up to date. */
function useWidth(fallback: number): [preact.RefObject<HTMLDivElement>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [w, setW] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setW(Math.max(240, Math.floor(el.clientWidth)));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

function Patterns({ uid, series }: { uid: string; series: SeriesStyle[] }) {
  return (
    <defs>
      {series
        .filter((s) => s.hatch)
        .map((s) => (
          <pattern key={s.key} id={`${uid}-${s.key}`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <rect width="6" height="6" fill={s.color} />
            <line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2.2" />
          </pattern>
        ))}
    </defs>
  );
}

const fillOf = (uid: string, s: SeriesStyle) => (s.hatch ? `url(#${uid}-${s.key})` : s.color);

function Marker({ kind = 'circle', x, y, color }: { kind?: SeriesStyle['marker']; x: number; y: number; color: string }) {
  if (kind === 'square') return <rect x={x - 3.5} y={y - 3.5} width="7" height="7" fill="#fff" stroke={color} stroke-width="2" />;
  if (kind === 'diamond') return <path d={`M${x} ${y - 4.5}L${x + 4.5} ${y}L${x} ${y + 4.5}L${x - 4.5} ${y}Z`} fill="#fff" stroke={color} stroke-width="2" />;
  return <circle cx={x} cy={y} r="3.5" fill="#fff" stroke={color} stroke-width="2" />;
}

/** A small swatch matching a series' look, for legends and tooltips. */
export function Swatch({ s }: { s: SeriesStyle }) {
  const uid = useUid();
  const line = !!s.marker || !!s.dash;
  return (
    <svg class="swatch" width="22" height="12" viewBox="0 0 22 12" aria-hidden="true">
      <Patterns uid={uid} series={[s]} />
      {line ? (
        <>
          <line x1="1" y1="6" x2="21" y2="6" stroke={s.color} stroke-width="2.5" stroke-dasharray={s.dash} />
          {s.marker && <Marker kind={s.marker} x={11} y={6} color={s.color} />}
        </>
      ) : (
        <rect x="3" y="1" width="16" height="10" rx="2" fill={fillOf(uid, s)} />
      )}
    </svg>
  );
}

export function Legend({ series }: { series: SeriesStyle[] }) {
  return (
    <ul class="legend" aria-hidden="true">
      {series.map((s) => (
        <li key={s.key}>
          <Swatch s={s} />
          {s.label}
        </li>
      ))}
    </ul>
  );
}

interface TipRow {
  s: SeriesStyle;
  text: string;
}

/** Keyboard movement between a chart's points (one tab stop). */
function useCursor(n: number) {
  const [active, setActive] = useState<number | null>(null);
  const [cursor, setCursor] = useState(0);
  const refs = useRef<(SVGElement | null)[]>([]);
  useEffect(() => {
    if (cursor >= n) setCursor(Math.max(0, n - 1));
  }, [n]);
  const onKeyDown = (e: KeyboardEvent) => {
    let i = cursor;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') i = Math.min(n - 1, cursor + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') i = Math.max(0, cursor - 1);
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = n - 1;
    else if (e.key === 'Escape') {
      setActive(null);
      return;
    } else return;
    e.preventDefault();
    setCursor(i);
    refs.current[i]?.focus();
  };
  const props = (i: number) => ({
    ref: (el: SVGElement | null) => void (refs.current[i] = el),
    tabindex: i === cursor ? 0 : -1,
    onFocus: () => {
      setCursor(i);
      setActive(i);
    },
    onBlur: () => setActive((a) => (a === i ? null : a)),
    onMouseEnter: () => setActive(i),
    onMouseLeave: () => setActive((a) => (a === i ? null : a)),
    onKeyDown,
  });
  return { active, props };
}

function Tooltip({ title, rows, x, width }: { title: string; rows: TipRow[]; x: number; width: number }) {
  const left = Math.min(Math.max(x, 90), width - 90);
  return (
    <div class="chart-tip" style={{ left: `${left}px` }} aria-hidden="true">
      <strong>{title}</strong>
      {rows.map((r) => (
        <span key={r.s.key} class="chart-tip-row">
          <Swatch s={r.s} />
          <span>{r.s.label}</span>
          <span class="num">{r.text}</span>
        </span>
      ))}
    </div>
  );
}

/** The visually hidden table behind a chart. */
function DataTable({ caption, head, rows }: { caption: string; head: string[]; rows: string[][] }) {
  return (
    <table class="sr-only">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h, i) => (
            <th key={i} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (j === 0 ? <th scope="row" key={j}>{c}</th> : <td key={j}>{c}</td>))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface TimeChartProps {
  title: string;
  summary: string;
  /** Short labels per period (axis) and long ones (tooltip, table). */
  categories: string[];
  longCategories: string[];
  bars?: Series[];
  stacked?: boolean;
  /** Lines on the right axis when there is one, else on the left. */
  lines?: Series[];
  left: Axis;
  right?: Axis;
  /** A reference line on the lines' axis, e.g. the service-level target. */
  target?: { value: number; label: string };
  height?: number;
  testId?: string;
  children?: ComponentChildren;
}

/** Columns per period (grouped or stacked) with optional lines. */
export function TimeChart(p: TimeChartProps) {
  const uid = useUid();
  const [box, width] = useWidth(600);
  const bars = p.bars ?? [];
  const lines = p.lines ?? [];
  const n = p.categories.length;
  const height = p.height ?? 240;
  const m = { top: 14, right: p.right ? 52 : 14, bottom: 26, left: 52 };
  const pw = Math.max(10, width - m.left - m.right);
  const ph = height - m.top - m.bottom;
  const { active, props } = useCursor(n);

  const lineAxis = p.right ?? p.left;
  const leftMax = Math.max(
    0,
    ...p.categories.map((_, i) =>
      p.stacked ? bars.reduce((a, s) => a + (s.values[i] ?? 0), 0) : Math.max(0, ...bars.map((s) => s.values[i] ?? 0)),
    ),
    ...(p.right ? [] : lines.flatMap((s) => s.values.map((v) => v ?? 0))),
    ...(!p.right && p.target ? [p.target.value] : []),
  );
  const ls = p.left.max !== undefined ? niceScale(p.left.max) : p.left.count ? countScale(leftMax) : niceScale(leftMax);
  const rightMax = Math.max(0, ...lines.flatMap((s) => s.values.map((v) => v ?? 0)), p.target?.value ?? 0);
  const rs = p.right ? (p.right.max !== undefined ? niceScale(p.right.max) : niceScale(rightMax)) : ls;
  const yl = (v: number) => m.top + ph - (v / ls.max) * ph;
  const yr = (v: number) => m.top + ph - (v / rs.max) * ph;
  const yLine = p.right ? yr : yl;
  const band = pw / Math.max(1, n);
  const cx = (i: number) => m.left + band * (i + 0.5);
  const inner = band * (band > 8 ? 0.78 : 0.92);
  const barW = p.stacked || bars.length === 0 ? inner : inner / bars.length;
  const every = Math.max(1, Math.ceil((n * 46) / pw));
  const markers = n <= 96;

  const tip = (i: number): TipRow[] => [
    ...bars.map((s) => ({ s, text: s.values[i] === null ? '—' : p.left.format(s.values[i]!) })),
    ...lines.map((s) => ({ s, text: s.values[i] === null || s.values[i] === undefined ? '—' : lineAxis.format(s.values[i]!) })),
  ];
  const say = (i: number) => `${p.longCategories[i]}: ${tip(i).map((r) => `${r.s.label} ${r.text}`).join(', ')}`;

  return (
    <figure class="chart" data-testid={p.testId}>
      <figcaption>
        <h3>{p.title}</h3>
      </figcaption>
      {p.children}
      <div class="chart-box" ref={box}>
        <svg width={width} height={height} role="img" aria-label={`${p.title}. ${p.summary}`} class="chart-svg">
          <Patterns uid={uid} series={bars} />
          {ls.ticks.map((v) => (
            <g key={'l' + v}>
              <line x1={m.left} x2={m.left + pw} y1={yl(v)} y2={yl(v)} class={v === 0 ? 'axis' : 'grid'} />
              <text x={m.left - 6} y={yl(v) + 4} text-anchor="end" class="tick">
                {p.left.format(v)}
              </text>
            </g>
          ))}
          {p.right &&
            rs.ticks.map((v) => (
              <text key={'r' + v} x={m.left + pw + 6} y={yr(v) + 4} class="tick">
                {p.right!.format(v)}
              </text>
            ))}
          {p.categories.map((c, i) =>
            i % every === 0 ? (
              <text key={'x' + i} x={cx(i)} y={height - 8} text-anchor="middle" class="tick">
                {c}
              </text>
            ) : null,
          )}
          {active !== null && <rect x={m.left + band * active} y={m.top} width={band} height={ph} class="chart-hover" />}
          {bars.map((s, k) =>
            s.values.map((v, i) => {
              if (!v) return null;
              let base = 0;
              if (p.stacked) for (let j = 0; j < k; j++) base += bars[j]!.values[i] ?? 0;
              const x = p.stacked ? cx(i) - inner / 2 : cx(i) - inner / 2 + k * barW;
              const y = yl(base + v);
              return <rect key={s.key + i} x={x} y={y} width={Math.max(1, barW - (p.stacked ? 0 : 1))} height={Math.max(0.5, yl(base) - y)} fill={fillOf(uid, s)} class="bar" />;
            }),
          )}
          {p.target && (
            <g class="target">
              <line x1={m.left} x2={m.left + pw} y1={yLine(p.target.value)} y2={yLine(p.target.value)} stroke={palette.grey} stroke-width="1.5" stroke-dasharray="6 4" />
              <text x={m.left + 6} y={yLine(p.target.value) - 5} class="tick target-label">
                {p.target.label}
              </text>
            </g>
          )}
          {lines.map((s) => {
            let d = '';
            let pen = false;
            s.values.forEach((v, i) => {
              if (v === null || v === undefined) {
                pen = false;
                return;
              }
              d += `${pen ? 'L' : 'M'}${cx(i).toFixed(1)} ${yLine(v).toFixed(1)}`;
              pen = true;
            });
            return (
              <g key={s.key}>
                <path d={d} fill="none" stroke={s.color} stroke-width="2.5" stroke-dasharray={s.dash} stroke-linejoin="round" />
                {s.values.map((v, i) => {
                  if (v === null || v === undefined) return null;
                  const lonely = (s.values[i - 1] ?? null) === null && (s.values[i + 1] ?? null) === null;
                  return markers || lonely ? <Marker key={i} kind={s.marker} x={cx(i)} y={yLine(v)} color={s.color} /> : null;
                })}
              </g>
            );
          })}
          {p.categories.map((_, i) => (
            <rect key={'h' + i} x={m.left + band * i} y={m.top} width={band} height={ph} class="hit" {...props(i)} />
          ))}
        </svg>
        {active !== null && <Tooltip title={p.longCategories[active]!} rows={tip(active)} x={cx(active)} width={width} />}
        <p class="sr-only" aria-live="polite">
          {active !== null ? say(active) : ''}
        </p>
      </div>
      <Legend series={[...bars, ...lines, ...(p.target ? [{ key: 'target', label: p.target.label, color: palette.grey, dash: '6 4' }] : [])]} />
      <DataTable
        caption={p.title}
        head={['', ...bars.map((s) => s.label), ...lines.map((s) => s.label)]}
        rows={p.categories.map((_, i) => [p.longCategories[i]!, ...tip(i).map((r) => r.text)])}
      />
    </figure>
  );
}

export interface BarRow {
  label: string;
  values: number[];
  /** Shown after the bar, e.g. the total and its share. */
  note: string;
}

export interface BarListProps {
  title: string;
  summary: string;
  series: SeriesStyle[];
  rows: BarRow[];
  format(v: number): string;
  testId?: string;
}

/** Horizontal bars, one per row, stacked when there are several series. */
export function BarList(p: BarListProps) {
  const uid = useUid();
  const [box, width] = useWidth(600);
  const { active, props } = useCursor(p.rows.length);
  const rowH = 40;
  const m = { left: 4, right: 120 };
  const pw = Math.max(10, width - m.left - m.right);
  const max = Math.max(1, ...p.rows.map((r) => r.values.reduce((a, v) => a + v, 0)));
  const height = p.rows.length * rowH + 4;
  const x = (v: number) => (v / max) * pw;
  const tip = (i: number): TipRow[] => p.series.map((s, k) => ({ s, text: p.format(p.rows[i]!.values[k] ?? 0) }));
  const multi = p.series.length > 1;
  return (
    <figure class="chart" data-testid={p.testId}>
      <figcaption>
        <h3>{p.title}</h3>
      </figcaption>
      <div class="chart-box" ref={box}>
        <svg width={width} height={height} role="img" aria-label={`${p.title}. ${p.summary}`} class="chart-svg">
          <Patterns uid={uid} series={p.series} />
          {p.rows.map((r, i) => {
            const y = i * rowH;
            let at = m.left;
            return (
              <g key={i}>
                {active === i && <rect x="0" y={y} width={width} height={rowH} class="chart-hover" />}
                <text x={m.left} y={y + 14} class="bar-label">
                  {r.label}
                </text>
                {r.values.map((v, k) => {
                  if (!v) return null;
                  const w = Math.max(1, x(v));
                  const el = <rect key={k} x={at} y={y + 19} width={w} height="15" fill={fillOf(uid, p.series[k]!)} class="bar" />;
                  at += w;
                  return el;
                })}
                <text x={at + 6} y={y + 31} class="tick bar-note">
                  {r.note}
                </text>
                <rect x="0" y={y} width={width} height={rowH} class="hit" {...props(i)} />
              </g>
            );
          })}
        </svg>
        {active !== null && multi && <Tooltip title={p.rows[active]!.label} rows={tip(active)} x={width / 2} width={width} />}
        <p class="sr-only" aria-live="polite">
          {active !== null ? `${p.rows[active]!.label}: ${multi ? tip(active).map((r) => `${r.s.label} ${r.text}`).join(', ') : p.rows[active]!.note}` : ''}
        </p>
      </div>
      {multi && <Legend series={p.series} />}
      <DataTable
        caption={p.title}
        head={['', ...p.series.map((s) => s.label)]}
        rows={p.rows.map((r, i) => [r.label, ...tip(i).map((t) => t.text)])}
      />
    </figure>
  );
}
