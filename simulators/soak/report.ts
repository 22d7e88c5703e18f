import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Kpis, AlarmPoint } from './verdict.ts';

/** The fleet as the API showed it at a moment of the run. */
export interface FleetSample {
  at: number;
  online: number;
  offline: number;
  lowBattery: number;
}

export interface ReportInput {
  kpis: Kpis;
  points: AlarmPoint[];
  faults: Array<{ kind: string; what: string; from: number; to: number }>;
  fleet: FleetSample[];
  run: { days: number; residents: number; speed: number; seed: number; seconds: number };
}

const FONT = 'WenQuanYi Micro Hei, Noto Sans CJK SC, PingFang SC, sans-serif';
const config = { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 240 }, view: { stroke: null } };
/** Shanghai local time for the charts (the data are UTC instants). */
const localIso = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(0, 19);

/** A Vega-Lite spec rendered to SVG on the server (no browser, no canvas). */
export async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ ...spec, config } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The charts of a soak, each an SVG string. */
export type Charts = Record<'perDay' | 'answers' | 'depth' | 'faults' | 'fleet', string>;

/** Each chart's file under `DIR/charts/` (for a page of its own, or a README). */
export const chartFiles: Record<keyof Charts, string> = { perDay: 'alarms-per-day.svg', answers: 'answer-times.svg', depth: 'ladder-depth.svg', faults: 'faults.svg', fleet: 'fleet.svg' };

export async function charts(r: ReportInput): Promise<Charts> {
  const day = (t: number) => localIso(t).slice(0, 10);
  const perDay = new Map<string, number>();
  for (const p of r.points) perDay.set(`${day(p.at)} ${p.type}`, (perDay.get(`${day(p.at)} ${p.type}`) ?? 0) + 1);
  const answered = r.points.filter((p) => p.severity === 'critical' && p.answerSeconds !== null).map((p) => ({ seconds: Math.min(p.answerSeconds!, 300) }));
  return {
    perDay: await svg({
      width: 640,
      height: 220,
      title: '每日告警（按类型）· alarms per day by type',
      data: { values: [...perDay].map(([k, n]) => ({ day: k.slice(0, 10), type: k.slice(11), n })) },
      mark: 'bar',
      encoding: {
        x: { field: 'day', type: 'ordinal', title: null },
        y: { field: 'n', type: 'quantitative', title: 'alarms' },
        color: { field: 'type', type: 'nominal', title: 'type', scale: { scheme: 'tableau20' } },
      },
    }),
    answers: await svg({
      width: 640,
      height: 220,
      title: '危急告警应答时间 · critical alarms: time to a human’s answer (s)',
      layer: [
        {
          data: { values: answered },
          mark: 'bar',
          encoding: { x: { field: 'seconds', type: 'quantitative', bin: { step: 5, extent: [0, 300] }, title: 'seconds (300 = 300 or more)' }, y: { aggregate: 'count', type: 'quantitative', title: 'alarms' } },
        },
        {
          data: { values: [{ at: 60, label: '60 s (97.5 %)' }, { at: 180, label: '180 s (99 %)' }] },
          mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 3] },
          encoding: { x: { field: 'at', type: 'quantitative' } },
        },
        {
          data: { values: [{ at: 60, label: '60 s (97.5 %)' }, { at: 180, label: '180 s (99 %)' }] },
          mark: { type: 'text', color: '#c0392b', align: 'left', dx: 3, dy: -95 },
          encoding: { x: { field: 'at', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    }),
    depth: await svg({
      width: 300,
      height: 180,
      title: '应答前升级层级 · ladder step reached before the answer',
      data: { values: Object.entries(r.kpis.ladderDepth).map(([level, n]) => ({ step: ['community station', 'street + family', 'district + all contacts'][Number(level)] ?? `step ${level}`, level: Number(level), n })) },
      mark: 'bar',
      encoding: { y: { field: 'step', type: 'nominal', sort: { field: 'level' }, title: null }, x: { field: 'n', type: 'quantitative', title: 'critical alarms' } },
    }),
    faults: await svg({
      width: 640,
      height: 260,
      title: '故障时间线与告警 · faults (bands) over the alarms (ticks)',
      layer: [
        {
          data: { values: r.faults.map((f) => ({ kind: f.kind, what: f.what, from: localIso(f.from), to: localIso(Math.max(f.to, f.from + 20 * 60_000)) })) },
          mark: { type: 'rect', opacity: 0.35 },
          encoding: { x: { field: 'from', type: 'temporal', title: 'local time' }, x2: { field: 'to' }, color: { field: 'kind', type: 'nominal', title: 'fault', scale: { scheme: 'set2' } } },
        },
        {
          data: { values: r.points.map((p) => ({ at: localIso(p.at), type: p.type, severity: p.severity })) },
          mark: { type: 'tick', thickness: 1.5 },
          encoding: { x: { field: 'at', type: 'temporal' }, y: { field: 'type', type: 'nominal', title: null }, opacity: { value: 0.8 }, stroke: { value: '#333' } },
        },
      ],
    }),
    fleet: await svg({
      width: 640,
      height: 180,
      title: '设备状况 · device fleet health',
      data: { values: r.fleet.flatMap((s) => [{ at: localIso(s.at), what: 'online', n: s.online }, { at: localIso(s.at), what: 'offline', n: s.offline }, { at: localIso(s.at), what: 'battery ≤ 20 %', n: s.lowBattery }]) },
      mark: { type: 'line', point: true },
      encoding: { x: { field: 'at', type: 'temporal', title: 'local time' }, y: { field: 'n', type: 'quantitative', title: 'devices' }, color: { field: 'what', type: 'nominal', title: null } },
    }),
  };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** report.html: the KPI table and the charts (made here unless given), one self-contained page (SVG inline, no scripts). */
export async function reportHtml(r: ReportInput, drawn?: Charts): Promise<string> {
  const c = drawn ?? (await charts(r));
  const k = r.kpis;
  const rows = k.checks.map((x) => `<tr class="${x.ok ? 'ok' : 'missed'}"><td>${esc(x.name)}</td><td class="n">${esc(x.value)}</td><td>${esc(x.target)}</td><td>${x.ok ? '✓ met' : '✗ MISSED'}</td></tr>`).join('\n');
  const faults = r.faults.map((f) => `<tr><td>${localIso(f.from).replace('T', ' ').slice(0, 16)}</td><td>${esc(f.kind)}</td><td>${esc(f.what)}</td><td class="n">${Math.round((f.to - f.from) / 60_000)} min</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>carebell soak: ${r.run.days} days, ${r.run.residents} homes</title>
<style>
body { font-family: ${FONT}; margin: 2rem auto; max-width: 900px; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } tr.missed td { color: #b00020; font-weight: bold; }
.verdict { font-size: 1.1rem; padding: .6rem 1rem; border-radius: 4px; display: inline-block; }
.verdict.ok { background: #e6f4ea; } .verdict.missed { background: #fde7e9; }
figure { margin: 1rem 0; }
</style></head><body>
<h1>carebell soak · ${r.run.days} simulated days · ${r.run.residents} homes</h1>
<p>Seed ${r.run.seed}, ${r.run.speed}× simulated time, ${r.run.seconds} s of real time; from ${localIso(Date.parse(k.window.from)).replace('T', ' ').slice(0, 16)} to ${localIso(Date.parse(k.window.to)).replace('T', ' ').slice(0, 16)} (Shanghai time).
${k.incidents} incidents that must raise an alarm; ${k.alarms.total} alarms, ${k.alarms.critical} critical; ${k.messages.published} device messages.</p>
<p class="verdict ${k.ok ? 'ok' : 'missed'}">${k.ok ? 'Every KPI met.' : 'A KPI was missed.'}</p>
<h2>KPIs</h2>
<table><tr><th>KPI</th><th>value</th><th>target</th><th></th></tr>
${rows}
</table>
<p>Answer time (critical, by a human): p50 ${k.answer.p50 ?? '–'} s, p99 ${k.answer.p99 ?? '–'} s over ${k.answer.count} alarms (${k.answer.cancelledByResident} cancelled by the resident). First notification: p50 ${k.firstNotification.p50 ?? '–'} s, p99 ${k.firstNotification.p99 ?? '–'} s. Webhooks ${k.deliveries.made} of ${k.deliveries.owed} owed (${k.deliveries.refusedWhileDown} refused while a receiver was down, delivered later). Families told of ${k.families.told} alarms answered ${k.families.answered} on the family page (${k.families.going} going).</p>
<figure>${c.perDay}</figure>
<figure>${c.answers}</figure>
<figure>${c.depth}</figure>
<figure>${c.faults}</figure>
<figure>${c.fleet}</figure>
<h2>Faults</h2>
<table><tr><th>local time</th><th>fault</th><th>what</th><th>for</th></tr>
${faults}
</table>
</body></html>
`;
}
