import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../api.ts';
import { term, type Lang } from '../i18n.ts';

/** One vital over time (the bucket means), with the alarm's moment marked. */
export function VitalChart({ title, unit, series, markAt, lang }: { title: string; unit: string; series: Series[]; markAt: number; lang: Lang }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => {
      const byT = new Map(s.points.map((p) => [p.t, p.mean]));
      return times.map((t) => byT.get(t) ?? null);
    })];
    const colors = ['#c0392b', '#2471a3', '#1e8449', '#7d3c98'];
    const plot = new uPlot(
      {
        width: el.clientWidth || 360,
        height: 150,
        legend: { show: series.length > 1 },
        scales: { x: { time: true } },
        axes: [
          {
            stroke: '#555',
            grid: { stroke: '#eee' },
            // 24-hour clock, as a station's staff read time
            values: (_u: uPlot, splits: number[]) => splits.map((v) => new Date(v * 1000).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit', hour12: false })),
          },
          { stroke: '#555', grid: { stroke: '#eee' }, size: 44 },
        ],
        series: [{}, ...series.map((s, i) => ({ label: `${term(lang, 'reading', s.kind)}${s.deviceId ? ` · ${s.deviceId}` : ''}`, stroke: colors[i % colors.length], width: 2, spanGaps: true, points: { show: false } }))],
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
              ctx.restore();
            },
          ],
        },
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [series, markAt, lang]);
  return (
    <figure class="chart" data-testid="vital-chart">
      <figcaption>
        {title} <span class="muted">{unit}</span>
      </figcaption>
      <div ref={box} />
    </figure>
  );
}
