/**
 * The launch desk's charts of one product over the last hour, drawn in the page with uPlot
 * (bundled from node_modules, its stylesheet in the app's; canvas and CSSOM styles only, so it runs
 * under the page's Content-Security-Policy): reservations per minute, people waiting, units left.
 * Each chart says its latest and highest value in words, and a table gives the figures a minute
 * apart, for screen readers and anyone who prefers numbers.
 */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { Field } from '../components.js';
import { formatNumber, formatTime } from '../format.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { byMinute, seriesOf, type Series } from '../samples.js';
import type { LaunchDesk } from '../types.js';

interface ChartKind {
  key: 'perMinute' | 'waiting' | 'stock';
  title: MessageKey;
  /** A value with its unit ("12건/분"), and the unit alone (the axis). */
  value: MessageKey;
  unit: MessageKey;
  color: string;
  /** Figures that hold between samples are drawn as steps; the rate is a trend. */
  stepped: boolean;
}

const CHARTS: ChartKind[] = [
  { key: 'perMinute', title: 'charts.perMinute', value: 'unit.perMinute', unit: 'unitName.perMinute', color: '#d6332a', stepped: false },
  { key: 'waiting', title: 'charts.waiting', value: 'unit.people', unit: 'unitName.people', color: '#1d5fbf', stepped: true },
  { key: 'stock', title: 'charts.stock', value: 'unit.units', unit: 'unitName.units', color: '#17803d', stepped: true },
];

const HEIGHT = 180;

/** The time axis's ticks on a Seoul clock (uPlot's own read "12:47pm"), with seconds over a short span. */
function clockTicks(u: uPlot, splits: number[], lang: string): string[] {
  const span = (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0);
  const format = new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    ...(span < 600 ? { second: '2-digit' as const } : {}),
    hourCycle: 'h23',
    timeZone: 'Asia/Seoul',
  });
  return splits.map((s) => format.format(new Date(s * 1000)));
}
const FONT = '12px system-ui, "Nanum Gothic", NanumGothic, sans-serif';
const AXIS = { stroke: '#5a6472', font: FONT, labelFont: `bold ${FONT}`, grid: { stroke: '#e3e7ec', width: 1 }, ticks: { stroke: '#d9dee5', width: 1 } };

/** One uPlot chart, created once and given new data as the desk refreshes. */
function Chart({ kind, series, label }: { kind: ChartKind; series: Series; label: string }) {
  const { t, lang } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data: uPlot.AlignedData = [series.times, series[kind.key]];

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(240, el.clientWidth);
    const options: uPlot.Options = {
      width,
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Seoul'),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { ...AXIS, label: t('charts.time'), labelSize: 20, values: (u, splits) => clockTicks(u, splits, lang) },
        { ...AXIS, label: `${t(kind.title)} (${t(kind.unit)})`, labelSize: 20, size: 56 },
      ],
      series: [
        {},
        {
          label: `${t(kind.title)} (${t(kind.unit)})`,
          stroke: kind.color,
          width: 2,
          fill: `${kind.color}1f`,
          points: { show: false },
          ...(kind.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        },
      ],
      // A key to the line, not a read-out: the summary and the table give the values.
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, data, el);
    // The chart follows its box's width (a phone turned, a window resized).
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [lang, kind]);

  useEffect(() => plot.current?.setData(data), [series]);

  const values = series[kind.key];
  const peak = values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
  const minutes = series.times.length > 1 ? Math.max(1, Math.round((series.times.at(-1)! - series.times[0]!) / 60)) : 0;
  const id = `chart-${kind.key}`;
  const summary = t('charts.summary', {
    last: t(kind.value, { n: formatNumber(values.at(-1) ?? 0, lang) }),
    max: t(kind.value, { n: formatNumber(values[peak] ?? 0, lang) }),
    at: series.times[peak] === undefined ? '–' : formatTime(new Date(series.times[peak]! * 1000), lang),
    minutes,
  });
  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} data-chart={kind.key}>
      <figcaption>
        <h3 id={`${id}-title`} class="chart-title">
          {label}
        </h3>
        <p id={`${id}-summary`} class="chart-summary" data-field="summary">
          {summary}
        </p>
      </figcaption>
      {/* The drawing repeats the summary and the table for the eye; they speak for it. */}
      <div class="chart-box" ref={box} aria-hidden="true" />
    </figure>
  );
}

function ChartTable({ series, name }: { series: Series; name: string }) {
  const { t, lang } = useI18n();
  const rows = byMinute(series);
  return (
    <details class="chart-table">
      <summary>{t('charts.table')}</summary>
      <div class="table-scroll">
        <table>
          <caption>{t('charts.tableCaption', { name })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('charts.time')}</th>
              {CHARTS.map((k) => (
                <th scope="col" key={k.key}>
                  {t(k.title)} ({t(k.unit)})
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.time}>
                <th scope="row">{formatTime(new Date(r.time * 1000), lang)}</th>
                <td>{formatNumber(r.perMinute, lang)}</td>
                <td>{formatNumber(r.waiting, lang)}</td>
                <td>{formatNumber(r.stock, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export function LaunchCharts({ desk, productId, onSelect }: { desk: LaunchDesk; productId: number | undefined; onSelect: (id: number) => void }) {
  const { t } = useI18n();
  const charted = useMemo(() => desk.products.filter((p) => p.samples.length > 0 || p.id === productId).sort((a, b) => a.name.localeCompare(b.name)), [desk, productId]);
  const product = desk.products.find((p) => p.id === productId);
  const samples = product?.samples;
  const series = useMemo(() => (samples && samples.length > 0 ? seriesOf(samples, desk.generatedAt) : undefined), [samples, desk.generatedAt]);
  return (
    <section class="section launch-charts" id="launch-charts" aria-labelledby="charts-title">
      <div class="section-head">
        <h2 id="charts-title" tabIndex={-1}>
          {t('charts.title')}
        </h2>
      </div>
      {charted.length === 0 ? (
        <p class="muted">{t('charts.empty')}</p>
      ) : (
        <Field id="chart-product" label={t('charts.product')} className="search">
          <select id="chart-product" name="chart-product" value={productId === undefined ? '' : String(productId)} onChange={(e) => onSelect(Number(e.currentTarget.value))}>
            {charted.map((p) => (
              <option key={p.id} value={String(p.id)}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      {product && !series && <p class="muted">{t('charts.empty')}</p>}
      {product && series && (
        <>
          <div class="chart-grid" data-chart-product={product.id}>
            {CHARTS.map((kind) => (
              <Chart key={kind.key} kind={kind} series={series} label={t(kind.title)} />
            ))}
          </div>
          <ChartTable series={series} name={product.name} />
        </>
      )}
    </section>
  );
}
