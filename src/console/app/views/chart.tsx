import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../api.ts';
import { term, translate, type Lang } from '../i18n.ts';

const colors = ['#c0392b', '#2471a3', '#1e8449', '#7d3c98'];

/**
 * One vital over the whole window (the bucket means), the alarm's moment
 * marked and labelled. The time axis spans the window whatever the data, so a
 * few readings sit where they belong; with few readings the points are drawn.
 */
export function VitalChart({ title, unit, series, markAt, from, to, lang }: { title: string; unit: string; series: Series[]; markAt: number; from: number; to: number; lang: Lang }) {
  const box = useRef<HTMLDivElement>(null);
  const count = series.reduce((n, s) => n + s.points.length, 0);
  useEffect(() => {
    const el = box.current;
    if (!el || count === 0) return;
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => {
      const byT = new Map(s.points.map((p) => [p.t, p.mean]));
      return times.map((t) => byT.get(t) ?? null);
    })];
    const few = count < 30;
    const plot = new uPlot(
      {
        width: el.clientWidth || 360,
        height: 150,
        legend: { show: false },
        scales: { x: { time: true, range: [from / 1000, to / 1000] } },
        axes: [
          {
            stroke: '#555',
            grid: { stroke: '#eee' },
            // 24-hour clock, as a station's staff read time
            values: (_u: uPlot, splits: number[]) => splits.map((v) => new Date(v * 1000).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit', hour12: false })),
          },
          { stroke: '#555', grid: { stroke: '#eee' }, size: 44 },
        ],
        series: [{}, ...series.map((s, i) => ({ label: term(lang, 'reading', s.kind), stroke: colors[i % colors.length], width: 2, spanGaps: true, points: { show: few, size: 6, fill: colors[i % colors.length] } }))],
        hooks: {
          draw: [
            (u: uPlot) => {
              const x = u.valToPos(markAt / 1000, 'x', true);
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = '#e67e22';
              ctx.setLineDash([4, 4]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.setLineDash([]);
              ctx.fillStyle = '#b35900';
              ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
              ctx.textAlign = x > u.bbox.left + u.bbox.width / 2 ? 'right' : 'left';
              ctx.fillText(translate(lang, 'chart.alarm'), x + (ctx.textAlign === 'right' ? -4 : 4), u.bbox.top + 12 * devicePixelRatio);
              ctx.restore();
            },
          ],
        },
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [series, markAt, from, to, lang]);
  return (
    <figure class="chart" data-testid="vital-chart" data-points={count}>
      <figcaption>
        {title} <span class="muted">{unit}</span>
        {series.length > 1 &&
          series.map((s, i) => (
            <span class="legend" style={{ color: colors[i % colors.length] }}>
              ● {term(lang, 'reading', s.kind)}
            </span>
          ))}
      </figcaption>
      {count === 0 ? <p class="muted empty-chart">{translate(lang, 'chart.empty')}</p> : <div ref={box} />}
    </figure>
  );
}
