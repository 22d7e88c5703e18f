import { useEffect, useState } from 'preact/hooks';
import { api, type Station } from '../api.ts';
import { csvRows, download } from '../csv.ts';
import { describeError, sayCode } from '../errors.ts';
import { term } from '../i18n.ts';
import { t, useConsole, when } from '../state.ts';
import { ErrorLine } from './error-line.tsx';

interface Response {
  answerable: number;
  answered: number;
  unanswered: number;
  secondsToAnswer: { p50: number | null; p90: number | null; p99: number | null };
  within: Array<{ withinSeconds: number; share: number | null; targetShare: number; meetsTarget: boolean | null }>;
}
interface DeviceCounts {
  total: number;
  online: number;
  silent: number;
  neverHeard: number;
  lowBattery: number;
}
interface StationRef {
  id: string;
  name: string;
  level: string;
}
export interface StationMonth {
  station: StationRef;
  month: string;
  inProgress: boolean;
  from: string;
  to: string;
  alarms: number;
  byType: Record<string, number>;
  byOutcome: Record<string, number>;
  response: { all: Response; critical: Response };
  onSite: { count: number; minutesToOnSite: { p50: number | null; p90: number | null }; withinTarget: { minutes: number; share: number | null } };
  answerTimes: { buckets: Array<{ upTo: number | null; count: number }>; unanswered: number };
  devices: DeviceCounts;
  below: Array<{ station: StationRef; alarms: number; critical: Response; devices: DeviceCounts }>;
  /** The care programme's visits: due, done, rate (target 100 %); tasks beyond the plan. */
  visits?: { due: number; done: number; rate: number | null; residents: number; tasks?: { opened: number; done: number; byReason: Record<string, number> } };
  /** Who the programme served: by category and age band. */
  residents?: { total: number; oldestOld: number; byCategory: Record<string, number>; byAgeBand: Record<string, number> };
  serviceRequests?: ServiceFigures & { byKind: Record<string, ServiceFigures>; bySource: Record<string, number> };
  deviceTests?: { devices: number; tests: number; devicesTested: number; overdueNow: number; policyDays: number };
}
interface ServiceFigures {
  count: number;
  done: number;
  cancelled: number;
  open: number;
  medianToAssignSeconds: number | null;
  medianToOnSiteSeconds: number | null;
  medianToDoneSeconds: number | null;
}
const minutes = (seconds: number | null): string => (seconds === null ? '—' : String(Math.round(seconds / 60)));
interface Health {
  providerId: string | null;
  providerName: string | null;
  totals: { devices: number; online: number; offline: number; silent: number; lowBattery: number; neverHeard: number; deadLetters24h: number };
  problems: Array<{
    deviceId: string;
    residentName: string | null;
    address: string | null;
    stationName: string | null;
    profile: string;
    issues: string[];
    codes?: Array<{ code: string; value?: number }>;
    lastSeen: string | null;
    battery: number | null;
  }>;
}

const pct = (share: number | null): string => (share === null ? '—' : `${(Math.round(share * 1000) / 10).toFixed(1)} %`);

/** A device's issues in the reader's language. */
function issueText(p: Health['problems'][number]): string {
  if (!p.codes) return p.issues.join('；');
  return p.codes.map((c, i) => sayCode('health', c.code, { value: c.value ?? '' }, p.issues[i] ?? c.code)).join('；');
}

/**
 * Critical alarms' time to answer as bars, one per bucket (≤15 s … >300 s,
 * then unanswered), with the 60 s and 180 s targets drawn as lines between
 * the bars they separate. Plain SVG: it prints and scales.
 */
function AnswerChart({ m }: { m: StationMonth }) {
  const bars = [...m.answerTimes.buckets.map((b, i) => ({ label: b.upTo === null ? t('reports.over', { s: m.answerTimes.buckets[i - 1]?.upTo ?? 0 }) : t('reports.upTo', { s: b.upTo }), count: b.count, late: b.upTo === null || b.upTo > 60 })), { label: t('reports.unanswered'), count: m.answerTimes.unanswered, late: true }];
  const max = Math.max(1, ...bars.map((b) => b.count));
  const W = 640;
  const H = 200;
  const pad = { l: 34, r: 8, t: 14, b: 36 };
  const bw = (W - pad.l - pad.r) / bars.length;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const lineAfter = (seconds: number) => m.answerTimes.buckets.findIndex((b) => b.upTo === seconds) + 1;
  return (
    <figure class="chart-figure">
      <figcaption>{t('reports.chart')}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('reports.chart')} data-testid="answer-chart" class="answer-chart">
        <line x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} stroke="#999" />
        {[0, max].map((v) => (
          <text x={pad.l - 6} y={y(v) + 4} text-anchor="end" font-size="11" fill="#666">
            {v}
          </text>
        ))}
        {bars.map((b, i) => (
          <g data-bar={i} data-count={b.count}>
            <rect x={pad.l + i * bw + 4} y={y(b.count)} width={bw - 8} height={y(0) - y(b.count)} fill={b.late ? '#c0392b' : '#2471a3'} opacity={b.count === 0 ? 0.2 : 0.85} />
            {b.count > 0 && (
              <text x={pad.l + i * bw + bw / 2} y={y(b.count) - 3} text-anchor="middle" font-size="11">
                {b.count}
              </text>
            )}
            <text x={pad.l + i * bw + bw / 2} y={H - pad.b + 16} text-anchor="middle" font-size="11" fill="#333">
              {b.label}
            </text>
          </g>
        ))}
        {[60, 180].map((s) => {
          const x = pad.l + lineAfter(s) * bw;
          return (
            <g>
              <line x1={x} x2={x} y1={pad.t - 6} y2={y(0)} stroke="#1e8449" stroke-dasharray="4 3" stroke-width="1.5" />
              <text x={x + 3} y={pad.t + 2} font-size="11" fill="#1e8449">
                {s} s
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** A table of counts, the largest first; or in the order given (age bands read youngest to oldest). */
function Counts({ title, counts, prefix, testid, order }: { title: string; counts: Record<string, number>; prefix: 'alarm' | 'outcome' | 'category' | 'ageBand' | 'task'; testid: string; order?: readonly string[] }) {
  const s = useConsole();
  const entries = order ? order.filter((k) => counts[k]).map((k) => [k, counts[k]!] as const) : Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return (
    <div class="card">
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <p class="muted">{t('reports.noData')}</p>
      ) : (
        <table class="counts" data-testid={testid}>
          <tbody>
            {entries.map(([k, n]) => (
              <tr data-key={k}>
                <td>{term(s.lang, prefix, k)}</td>
                <td class="num">{n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The month's figures of one station (and everything below it), with the drill-down and the export. */
function MonthView({ m, stations, open }: { m: StationMonth; stations: Station[]; open: (id: string) => void }) {
  const s = useConsole();
  const crit = m.response.critical;
  const parent = stations.find((x) => x.id === stations.find((y) => y.id === m.station.id)?.parentId);
  const exportCsv = () => {
    const rows: Array<Array<string | number | null>> = [
      ['station', m.station.name],
      ['month', m.month + (m.inProgress ? ' (in progress)' : '')],
      ['from', m.from],
      ['to', m.to],
      ['alarms', m.alarms],
      ['critical answerable', crit.answerable],
      ['critical answered', crit.answered],
      ['critical seconds to answer p50', crit.secondsToAnswer.p50],
      ['critical seconds to answer p90', crit.secondsToAnswer.p90],
      ...crit.within.map((w) => [`critical answered within ${w.withinSeconds} s`, w.share, `target ${w.targetShare}`]),
      ['on site count', m.onSite.count],
      ['on site minutes p50', m.onSite.minutesToOnSite.p50],
      ...Object.entries(m.byType).map(([k, n]) => [`type ${k}`, n]),
      ...Object.entries(m.byOutcome).map(([k, n]) => [`outcome ${k}`, n]),
      ['visits due', m.visits?.due ?? null],
      ['visits done', m.visits?.done ?? null],
      ['visit rate', m.visits?.rate ?? null],
      ['visit tasks opened', m.visits?.tasks?.opened ?? null],
      ['visit tasks done', m.visits?.tasks?.done ?? null],
      ['residents', m.residents?.total ?? null],
      ['residents 80 and over', m.residents?.oldestOld ?? null],
      ...Object.entries(m.residents?.byCategory ?? {}).map(([k, n]) => [`residents ${k}`, n]),
      ...Object.entries(m.residents?.byAgeBand ?? {}).map(([k, n]) => [`residents aged ${k}`, n]),
      ['service requests', m.serviceRequests?.count ?? null],
      ['service requests done', m.serviceRequests?.done ?? null],
      ['service requests cancelled', m.serviceRequests?.cancelled ?? null],
      ['service minutes to on site p50', m.serviceRequests ? minutes(m.serviceRequests.medianToOnSiteSeconds) : null],
      ...Object.entries(m.serviceRequests?.byKind ?? {}).map(([k, f]) => [`service ${k}`, f.count, f.done]),
      ['button tests', m.deviceTests?.tests ?? null],
      ['buttons tested', m.deviceTests?.devicesTested ?? null],
      ['buttons to test', m.deviceTests?.devices ?? null],
      ['buttons overdue now', m.deviceTests?.overdueNow ?? null],
      ['devices', m.devices.total],
      ['devices online', m.devices.online],
      ['devices silent', m.devices.silent],
      [],
      ['station below', 'alarms', 'critical answered', 'within 60 s', 'within 180 s', 'devices', 'online', 'silent'],
      ...m.below.map((b) => [b.station.name, b.alarms, b.critical.answered, b.critical.within[0]?.share ?? null, b.critical.within[1]?.share ?? null, b.devices.total, b.devices.online, b.devices.silent]),
    ];
    download(`carebell-${m.station.name}-${m.month}.csv`, csvRows(rows));
  };
  return (
    <div class="report" data-testid="station-month" data-station={m.station.id}>
      <div class="section-head">
        <h2>
          {m.station.name} · {m.month}
        </h2>
        {m.inProgress && <span class="badge progress">{t('reports.inProgress')}</span>}
        <span class="spacer" />
        {parent && (
          <button class="ghost" data-action="up" onClick={() => open(parent.id)}>
            ↑ {t('reports.up')} · {parent.name}
          </button>
        )}
        <button class="ghost" data-action="export-month" onClick={exportCsv}>
          {t('reports.export')}
        </button>
        <button class="ghost" data-action="print-month" onClick={() => window.print()}>
          {t('reports.print')}
        </button>
      </div>
      <div class="kpis">
        <div class="card kpi" data-testid="kpi-alarms">
          <span class="muted">{t('reports.alarms')}</span>
          <strong>{m.alarms}</strong>
        </div>
        <div class="card kpi" data-testid="kpi-critical">
          <span class="muted">{t('reports.critical')}</span>
          <strong>{t('reports.answered', { answered: crit.answered, answerable: crit.answerable })}</strong>
          <span>
            {t('reports.median')}: {crit.secondsToAnswer.p50 === null ? '—' : `${crit.secondsToAnswer.p50} s`} · {t('reports.p90')}: {crit.secondsToAnswer.p90 === null ? '—' : `${crit.secondsToAnswer.p90} s`}
          </span>
        </div>
        {crit.within.map((w) => (
          <div class={`card kpi ${w.meetsTarget === false ? 'miss' : w.meetsTarget ? 'meet' : ''}`} data-testid={`kpi-within-${w.withinSeconds}`}>
            <span class="muted">{t('reports.within', { seconds: w.withinSeconds })}</span>
            <strong>{pct(w.share)}</strong>
            <span>
              {t('reports.target', { target: pct(w.targetShare) })} · {w.meetsTarget === null ? t('reports.noData') : t(w.meetsTarget ? 'reports.meets' : 'reports.misses')}
            </span>
          </div>
        ))}
        {m.visits && (
          <div class={`card kpi ${m.visits.rate === null ? '' : m.visits.rate >= 1 ? 'meet' : 'miss'}`} data-testid="kpi-visits">
            <span class="muted">{t('reports.visits')}</span>
            <strong>{pct(m.visits.rate)}</strong>
            <span>{t('reports.visitFigures', { done: m.visits.done, due: m.visits.due, residents: m.visits.residents })}</span>
          </div>
        )}
      </div>
      {(m.serviceRequests || m.deviceTests) && (
        <div class="kpis">
          {m.serviceRequests && (
            <div class="card kpi" data-testid="kpi-services">
              <span class="muted">{t('reports.services')}</span>
              <strong>{t('reports.servicesDone', { done: m.serviceRequests.done, count: m.serviceRequests.count })}</strong>
              <span>{t('reports.serviceTimes', { assign: minutes(m.serviceRequests.medianToAssignSeconds), onSite: minutes(m.serviceRequests.medianToOnSiteSeconds), done: minutes(m.serviceRequests.medianToDoneSeconds) })}</span>
            </div>
          )}
          {m.deviceTests && (
            <div class={`card kpi ${m.deviceTests.devices === 0 ? '' : m.deviceTests.overdueNow === 0 ? 'meet' : 'miss'}`} data-testid="kpi-tests">
              <span class="muted">{t('reports.tests', { days: m.deviceTests.policyDays })}</span>
              <strong>
                {m.deviceTests.devicesTested} / {m.deviceTests.devices}
              </strong>
              <span>{t('reports.testFigures', { tests: m.deviceTests.tests, overdue: m.deviceTests.overdueNow })}</span>
            </div>
          )}
          {m.residents && (
            <div class="card kpi" data-testid="kpi-residents">
              <span class="muted">{t('reports.residents')}</span>
              <strong>{m.residents.total}</strong>
              <span>{t('reports.oldestOld', { n: m.residents.oldestOld })}</span>
            </div>
          )}
        </div>
      )}
      <AnswerChart m={m} />
      <div class="report-grid">
        <Counts title={t('reports.byType')} counts={m.byType} prefix="alarm" testid="by-type" />
        <Counts title={t('reports.byOutcome')} counts={m.byOutcome} prefix="outcome" testid="by-outcome" />
        {m.residents && <Counts title={t('reports.byCategory')} counts={m.residents.byCategory} prefix="category" testid="by-category" />}
        {m.residents && <Counts title={t('reports.byAgeBand')} counts={m.residents.byAgeBand} prefix="ageBand" testid="by-age" order={['under_60', '60_69', '70_79', '80_89', '90_plus', 'unknown']} />}
        {m.serviceRequests && (
          <div class="card">
            <h3>{t('reports.servicesByKind')}</h3>
            {Object.keys(m.serviceRequests.byKind).length === 0 ? (
              <p class="muted">{t('reports.noData')}</p>
            ) : (
              <table class="counts" data-testid="services-by-kind">
                <tbody>
                  {Object.entries(m.serviceRequests.byKind).map(([k, f]) => (
                    <tr data-key={k}>
                      <td>{term(s.lang, 'service', k)}</td>
                      <td class="num">{f.count}</td>
                      <td class="num muted">{t('reports.serviceKindLine', { done: f.done, onSite: minutes(f.medianToOnSiteSeconds) })}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
        {m.visits?.tasks && <Counts title={t('reports.visitTasks', { done: m.visits.tasks.done, opened: m.visits.tasks.opened })} counts={m.visits.tasks.byReason} prefix="task" testid="visit-tasks" />}
        <div class="card">
          <h3>{t('reports.onSite')}</h3>
          <p>{t('reports.onSiteFigures', { count: m.onSite.count, p50: m.onSite.minutesToOnSite.p50 ?? '—', share: pct(m.onSite.withinTarget.share), minutes: m.onSite.withinTarget.minutes })}</p>
          <h3>{t('reports.devices')}</h3>
          <p data-testid="device-figures">{t('reports.deviceFigures', m.devices as unknown as Record<string, number>)}</p>
        </div>
      </div>
      {m.below.length > 0 && (
        <div class="card">
          <h3>{t('reports.below')}</h3>
          <table class="users-table" data-testid="below">
            <thead>
              <tr>
                <th>{t('reports.station')}</th>
                <th>{t('reports.alarms')}</th>
                <th>{t('reports.critical')}</th>
                <th>{t('reports.within', { seconds: 60 })}</th>
                <th>{t('reports.within', { seconds: 180 })}</th>
                <th>{t('reports.devices')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.below.map((b) => (
                <tr data-station={b.station.id}>
                  <td>
                    {b.station.name} <span class="muted">{t(`stations.level.${b.station.level}` as 'stations.level.community')}</span>
                  </td>
                  <td>{b.alarms}</td>
                  <td>{t('reports.answered', { answered: b.critical.answered, answerable: b.critical.answerable })}</td>
                  <td class={b.critical.within[0]?.meetsTarget === false ? 'warn' : ''}>{pct(b.critical.within[0]?.share ?? null)}</td>
                  <td class={b.critical.within[1]?.meetsTarget === false ? 'warn' : ''}>{pct(b.critical.within[1]?.share ?? null)}</td>
                  <td>
                    {b.devices.online} / {b.devices.total}
                  </td>
                  <td>
                    <button class="ghost small" data-action="drill" onClick={() => open(b.station.id)}>
                      {t('reports.drill')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted small">
        {when(m.from, s.lang)} – {when(m.to, s.lang)}
      </p>
    </div>
  );
}

/** Device health now, per provider: the homes a technician should visit, with names and addresses. */
function HealthView({ station }: { station: string }) {
  const s = useConsole();
  const [health, setHealth] = useState<Health[] | null>(null);
  useEffect(() => void api<Health[]>('GET', `/reports/device-health${station ? `?station=${station}` : ''}`).then(setHealth).catch(() => setHealth([])), [station]);
  if (!health) return null;
  const exportCsv = () =>
    download(`carebell-device-health-${new Date().toISOString().slice(0, 10)}.csv`, csvRows([
      ['provider', 'resident', 'address', 'station', 'device', 'model', 'issues', 'last_seen', 'battery'],
      ...health.flatMap((h) => h.problems.map((p) => [h.providerName ?? '', p.residentName, p.address, p.stationName, p.deviceId, p.profile, p.issues.join('; '), p.lastSeen, p.battery])),
    ]));
  return (
    <div class="card" data-testid="device-health">
      <div class="section-head">
        <h2>{t('reports.health')}</h2>
        <span class="spacer" />
        <button class="ghost" data-action="export-health" onClick={exportCsv}>
          {t('reports.export')}
        </button>
      </div>
      {health.every((h) => h.problems.length === 0) && <p class="muted">{t('reports.healthNone')}</p>}
      {health
        .filter((h) => h.problems.length > 0)
        .map((h) => (
          <div data-provider={h.providerId ?? 'unassigned'}>
            <h3>
              {h.providerName ?? t('reports.unassigned')} · {t('reports.deviceFigures', { total: h.totals.devices, online: h.totals.online, silent: h.totals.silent, neverHeard: h.totals.neverHeard, lowBattery: h.totals.lowBattery })}
            </h3>
            <table class="users-table">
              <thead>
                <tr>
                  <th>{t('queue.resident')}</th>
                  <th>{t('residents.address')}</th>
                  <th>{t('fleet.device')}</th>
                  <th>{t('reports.issues')}</th>
                  <th>{t('device.lastSeen')}</th>
                </tr>
              </thead>
              <tbody>
                {h.problems.map((p) => (
                  <tr data-device={p.deviceId}>
                    <td>{p.residentName ?? p.stationName ?? '—'}</td>
                    <td>{p.address ?? '—'}</td>
                    <td>
                      {term(s.lang, 'kind', s.profiles.get(p.profile)?.kind ?? p.profile)} <span class="muted">{p.deviceId}</span>
                    </td>
                    <td>{issueText(p)}</td>
                    <td>{p.lastSeen ? when(p.lastSeen, s.lang) : t('device.never')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </div>
  );
}

/** `#/reports[/<station>[/<month>]]`: a station's month (staff who answer alarms) and device health (every staff role). */
export function Reports({ station: routeStation, month: routeMonth }: { station?: string; month?: string }) {
  const s = useConsole();
  const role = s.session?.user.role;
  const [stations, setStations] = useState<Station[]>([]);
  const [m, setM] = useState<StationMonth | null>(null);
  const [error, setError] = useState<string | null>(null);
  const month = routeMonth ?? '';
  useEffect(() => void api<Station[]>('GET', '/stations').then(setStations).catch(() => {}), []);
  useEffect(() => {
    if (role === 'provider') return;
    setError(null);
    const q = new URLSearchParams({ ...(routeStation ? { station: routeStation } : {}), ...(month ? { month } : {}) });
    void api<StationMonth>('GET', `/reports/station-month?${q}`)
      .then(setM)
      .catch((err: unknown) => setError(describeError(err)));
  }, [routeStation, month, role]);
  const go = (station: string, mo = month) => (location.hash = `#/reports/${station}${mo ? `/${mo}` : ''}`);
  const current = m?.station.id ?? routeStation ?? '';
  return (
    <section class="reports" data-testid="reports">
      <div class="section-head">
        <h1>{t('reports.title')}</h1>
        {role !== 'provider' && (
          <>
            <label>
              {t('reports.station')}{' '}
              <select value={current} onChange={(e) => go((e.target as HTMLSelectElement).value)} data-testid="report-station">
                {stations.map((x) => (
                  <option value={x.id}>
                    {x.name} · {t(`stations.level.${x.level}` as 'stations.level.community')}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('reports.month')} <input type="month" value={m?.month ?? month} onChange={(e) => current && go(current, (e.target as HTMLInputElement).value)} data-testid="report-month" />
            </label>
          </>
        )}
      </div>
      <ErrorLine error={error} />
      {m && role !== 'provider' && <MonthView m={m} stations={stations} open={(id) => go(id)} />}
      <HealthView station={role === 'provider' ? '' : current} />
    </section>
  );
}
