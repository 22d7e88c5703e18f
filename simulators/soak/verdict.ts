import type { FleetPlan } from '../fleet.ts';
import type { ApiClient, RunStats } from '../runner.ts';
import type { Scenario } from '../scenario.ts';
import { expectedAlarm } from './plan.ts';
import type { Received } from './receivers.ts';

const MIN = 60_000;

/** An alarm as the API shows it, with what the verdict reads of its timeline. */
interface AlarmRow {
  id: string;
  type: string;
  severity: string;
  state: string;
  residentId: string | null;
  stationId: string | null;
  raisedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedBy: string | null;
  escalationLevel: number;
  policy: string;
  ladder: number[];
  responses: Array<{ going: boolean; recordedBy: string }>;
}
interface TimelineRow {
  at: string;
  kind: string;
  actor: string;
  detail: any;
}

/** The soak's KPIs, and whether each met its target. */
export interface Kpis {
  window: { from: string; to: string };
  incidents: number;
  alarms: { total: number; byType: Record<string, number>; critical: number };
  /** Incidents whose alarm never came, and incidents that made more than one. Both must be 0. */
  lost: Array<{ resident: number; kind: string; at: string; expected: string }>;
  duplicated: Array<{ resident: number; kind: string; at: string; alarms: string[] }>;
  /** Alarms no incident explains (a secondary alarm such as NEWS2's vitals_warning, or a false one): shown, not failed. */
  unexplained: Record<string, number>;
  /** Critical alarms not acknowledged by a human nor at the last step of their ladder by their deadline. Must be 0. */
  unreached: Array<{ id: string; type: string; raisedAt: string; level: number }>;
  /** Simulated seconds from the alarm to its first delivery anywhere. */
  firstNotification: { p50: number | null; p99: number | null; max: number | null };
  /** Critical alarms answered by a human: simulated seconds from the alarm to the acknowledgement. */
  answer: { count: number; p50: number | null; p99: number | null; within60: number | null; within180: number | null; cancelledByResident: number };
  /** How far critical ladders went before someone answered: level → count. */
  ladderDepth: Record<string, number>;
  deliveries: { owed: number; made: number; missing: Array<{ alarmId: string; path: string; event: string; step: number; type: string; raisedAt: string }>; duplicated: number; refusedWhileDown: number };
  messages: { published: number; failed: number; retried: number; abandoned: number };
  /** Alarms a family was told of (its phone's webhook), and those a family member answered on the family page (going or not). */
  families: { told: number; answered: number; going: number };
  /**
   * Readings carried by the messages the gateway acknowledged, and those the
   * API returns for the run (a device's sum over its series). Lost must be 0:
   * an acknowledged reading is on disk, kill or no kill.
   */
  telemetry: { sent: number; stored: number; lost: number; short: Array<{ deviceId: string; sent: number; stored: number }> };
  /** Malformed payloads the devices sent, and those the dead-letter kept (with their reasons). */
  deadLetters: { sent: number; kept: number; reasons: Record<string, number> };
  checks: Array<{ name: string; ok: boolean; value: string; target: string }>;
  ok: boolean;
}

/** One alarm for the report's charts: when, what, and how it was answered. */
export interface AlarmPoint {
  at: number;
  type: string;
  severity: string;
  /** Simulated seconds to a human's acknowledgement; null: none (cancelled by the resident, a fault left open). */
  answerSeconds: number | null;
  /** The ladder's step reached before the answer. */
  depth: number;
}

/** The webhook path of each station, by id: what a station's receiver is owed. */
export type StationPaths = Map<string, { path: string; level: 'community' | 'street' | 'district' }>;

const pct = (values: number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

/**
 * The verdict from outside: every figure comes from the API (alarms and their
 * timelines), the webhook receivers and the devices' own counts, never from
 * the gateway's internals.
 */
export async function computeVerdict(o: {
  api: ApiClient;
  plan: FleetPlan;
  scenario: Scenario;
  start: number;
  end: number;
  received: Received[];
  refused: number;
  stations: StationPaths;
  stats: RunStats;
  /** Malformed payloads the devices sent. */
  malformedSent: number;
  /** Device id → readings in the messages the gateway acknowledged. */
  pointsSent: Map<string, number>;
}): Promise<{ kpis: Kpis; points: AlarmPoint[] }> {
  const { api, plan, scenario, start, end } = o;
  const alarms: AlarmRow[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.call<AlarmRow[]>('GET', `/api/v1/alarms?from=${new Date(start - 1000).toISOString()}&to=${new Date(end).toISOString()}&limit=500&offset=${offset}`);
    alarms.push(...page);
    if (page.length < 500) break;
  }
  const residentIndex = new Map(plan.residents.map((r) => [r.id!, r.index]));
  const byResidentType = new Map<string, AlarmRow[]>();
  for (const a of alarms) {
    const key = `${a.residentId ? residentIndex.get(a.residentId) : '-'}:${a.type}`;
    byResidentType.set(key, [...(byResidentType.get(key) ?? []), a]);
  }

  /** Alarms raised from a minute before an incident to `withinMs` after it. */
  const inWindow = (list: AlarmRow[] | undefined, at: number, withinMs: number) =>
    (list ?? []).filter((a) => {
      const t = Date.parse(a.raisedAt);
      return t >= at - MIN && t <= at + withinMs;
    });
  // Each incident that must raise an alarm, matched to the alarms of its home and type that came in its window.
  const explained = new Set<string>();
  const lost: Kpis['lost'] = [];
  const duplicated: Kpis['duplicated'] = [];
  let incidents = 0;
  for (const inc of scenario.incidents) {
    const want = expectedAlarm[inc.kind];
    if (!want || inc.resident === undefined) continue;
    incidents++;
    const at = start + inc.atMinutes * MIN;
    const matches = inWindow(byResidentType.get(`${inc.resident}:${want.type}`), at, want.withinMs);
    for (const a of matches) explained.add(a.id);
    // What the incident may also raise (a NEWS2 warning during a vitals episode) is explained by it, not required.
    for (const type of want.alsoMay ?? []) for (const a of inWindow(byResidentType.get(`${inc.resident}:${type}`), at, want.withinMs)) explained.add(a.id);
    if (matches.length === 0) lost.push({ resident: inc.resident, kind: inc.kind, at: new Date(at).toISOString(), expected: want.type });
    else if (matches.length > 1) duplicated.push({ resident: inc.resident, kind: inc.kind, at: new Date(at).toISOString(), alarms: matches.map((a) => a.id) });
  }
  const unexplained: Record<string, number> = {};
  for (const a of alarms) if (!explained.has(a.id)) unexplained[a.type] = (unexplained[a.type] ?? 0) + 1;

  // Critical and major alarms: their timelines (when each step fired, the first delivery).
  const critical = alarms.filter((a) => a.severity === 'critical');
  const laddered = alarms.filter((a) => a.policy.startsWith('critical') || a.policy.startsWith('major'));
  const timelines = new Map<string, TimelineRow[]>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < laddered.length) {
        const a = laddered[next++]!;
        timelines.set(a.id, (await api.call<{ timeline: TimelineRow[] }>('GET', `/api/v1/alarms/${a.id}`)).timeline);
      }
    }),
  );

  const unreached: Kpis['unreached'] = [];
  const answers: number[] = [];
  const firsts: number[] = [];
  const depth: Record<string, number> = {};
  let cancelled = 0;
  const points: AlarmPoint[] = alarms.map((a) => {
    const ack = a.acknowledgedAt && a.acknowledgedBy && !a.acknowledgedBy.startsWith('system') ? (Date.parse(a.acknowledgedAt) - Date.parse(a.raisedAt)) / 1000 : null;
    return { at: Date.parse(a.raisedAt), type: a.type, severity: a.severity, answerSeconds: ack, depth: a.escalationLevel };
  });
  for (const a of critical) {
    const raised = Date.parse(a.raisedAt);
    const timeline = timelines.get(a.id) ?? [];
    const first = timeline.find((t) => t.kind === 'notified');
    if (first) firsts.push((Date.parse(first.at) - raised) / 1000);
    if (a.resolvedBy === 'resident' && !a.acknowledgedAt) {
      cancelled++;
      continue;
    }
    const lastStep = a.ladder.length - 1;
    // Its deadline: the last step of its ladder, and a minute for the engine's tick and the delivery.
    const deadline = raised + (a.ladder[lastStep] ?? 0) * 1000 + MIN;
    const ackAt = a.acknowledgedAt ? Date.parse(a.acknowledgedAt) : Infinity;
    const byHuman = a.acknowledgedBy !== null && !a.acknowledgedBy.startsWith('system');
    const lastAt = timeline.find((t) => t.kind === 'escalated' && t.detail?.level === lastStep);
    if (byHuman) answers.push((ackAt - raised) / 1000);
    const levelAtAnswer = timeline.filter((t) => t.kind === 'escalated' && Date.parse(t.at) <= ackAt).reduce((m, t) => Math.max(m, Number(t.detail?.level ?? 0)), 0);
    depth[String(levelAtAnswer)] = (depth[String(levelAtAnswer)] ?? 0) + 1;
    const reached = (byHuman && ackAt <= deadline) || (lastAt !== undefined && Date.parse(lastAt.at) <= deadline);
    if (!reached) unreached.push({ id: a.id, type: a.type, raisedAt: a.raisedAt, level: a.escalationLevel });
  }

  // Webhooks owed: the community station's when an alarm is raised, the street's and the district's at steps 1 and 2
  // of a critical or major ladder; made: what the receivers accepted, once per delivery id.
  const owed: Array<{ alarmId: string; path: string; event: string; step: number }> = [];
  const pathOf = (level: 'community' | 'street' | 'district', communityId: string | null) => {
    for (const [id, s] of o.stations) if (s.level === level && (level !== 'community' || id === communityId)) return s.path;
    return undefined;
  };
  for (const a of alarms) {
    const community = pathOf('community', a.stationId);
    if (community) owed.push({ alarmId: a.id, path: community, event: 'alarm.raised', step: 0 });
    if (!timelines.has(a.id)) continue; // only critical and major ladders have steps past the station
    for (const t of timelines.get(a.id) ?? []) {
      if (t.kind !== 'escalated') continue;
      const level = Number(t.detail?.level);
      const path = level === 1 ? pathOf('street', null) : level === 2 ? pathOf('district', null) : undefined;
      if (path) owed.push({ alarmId: a.id, path, event: 'alarm.escalated', step: level });
    }
  }
  const got = new Map<string, Set<string>>();
  for (const w of o.received) {
    // Reminders repeat by design (each its own delivery); what must come once is the alarm and each step.
    if (w.event !== 'alarm.raised' && w.event !== 'alarm.escalated') continue;
    const key = `${w.path} ${w.event} ${w.alarmId} ${w.event === 'alarm.raised' ? 0 : w.step}`;
    got.set(key, (got.get(key) ?? new Set()).add(w.delivery));
  }
  const raisedOf = new Map(alarms.map((a) => [a.id, a]));
  const missing = owed
    .filter((w) => !got.has(`${w.path} ${w.event} ${w.alarmId} ${w.step}`))
    .map((w) => ({ ...w, type: raisedOf.get(w.alarmId)!.type, raisedAt: raisedOf.get(w.alarmId)!.raisedAt }));
  const dupDeliveries = [...got.values()].filter((ids) => ids.size > 1).length;

  // The dead-letter, read back from the run's start: every malformed payload kept, with its reason.
  const reasons: Record<string, number> = {};
  let kept = 0;
  for (let before: number | undefined; ; ) {
    const page = await api.call<Array<{ id: number; deviceId: string | null; code: string }>>('GET', `/api/v1/dead-letters?since=${new Date(start - 1000).toISOString()}&limit=1000${before ? `&before=${before}` : ''}`);
    for (const d of page) {
      if (!d.deviceId?.startsWith(plan.prefix)) continue;
      kept++;
      reasons[d.code] = (reasons[d.code] ?? 0) + 1;
    }
    if (page.length < 1000) break;
    before = page[page.length - 1]!.id;
  }

  const telemetry = await storedPoints(api, o.pointsSent, start, end);

  const share = (limit: number) => (answers.length ? answers.filter((s) => s <= limit).length / answers.length : null);
  const within60 = share(60);
  const within180 = share(180);
  const checks: Kpis['checks'] = [
    { name: 'alarms lost', ok: lost.length === 0, value: String(lost.length), target: '0' },
    { name: 'alarms duplicated', ok: duplicated.length === 0, value: String(duplicated.length), target: '0' },
    { name: 'critical alarms that reached no human by their deadline', ok: unreached.length === 0, value: String(unreached.length), target: '0' },
    { name: 'critical alarms answered within 60 s', ok: within60 === null || within60 >= 0.975, value: within60 === null ? '–' : `${(within60 * 100).toFixed(1)} %`, target: '≥ 97.5 %' },
    { name: 'critical alarms answered within 180 s', ok: within180 === null || within180 >= 0.99, value: within180 === null ? '–' : `${(within180 * 100).toFixed(1)} %`, target: '≥ 99 %' },
    { name: 'webhook deliveries owed and not made', ok: missing.length === 0, value: `${missing.length} of ${owed.length}`, target: '0' },
    { name: 'webhooks received twice under different delivery ids', ok: dupDeliveries === 0, value: String(dupDeliveries), target: '0' },
    { name: 'malformed payloads kept in the dead-letter', ok: kept >= o.malformedSent, value: `${kept} of ${o.malformedSent}`, target: 'all' },
    { name: 'telemetry points lost', ok: telemetry.lost === 0, value: `${telemetry.lost} of ${telemetry.sent}`, target: '0' },
    { name: 'device messages never acknowledged', ok: o.stats.failed === 0 && o.stats.abandoned === 0, value: String(o.stats.failed + o.stats.abandoned), target: '0' },
  ];
  const byType: Record<string, number> = {};
  for (const a of alarms) byType[a.type] = (byType[a.type] ?? 0) + 1;
  const toldFamilies = new Set(o.received.filter((w) => w.path.startsWith('/family-') && (w.event === 'alarm.raised' || w.event === 'alarm.escalated')).map((w) => w.alarmId));
  const familyAnswers = alarms.flatMap((a) => a.responses.filter((r) => r.recordedBy.startsWith('family:')));
  const kpis: Kpis = {
    window: { from: new Date(start).toISOString(), to: new Date(end).toISOString() },
    incidents,
    alarms: { total: alarms.length, byType, critical: critical.length },
    lost,
    duplicated,
    unexplained,
    unreached,
    firstNotification: { p50: round1(pct(firsts, 50)), p99: round1(pct(firsts, 99)), max: round1(firsts.length ? Math.max(...firsts) : null) },
    answer: { count: answers.length, p50: round1(pct(answers, 50)), p99: round1(pct(answers, 99)), within60, within180, cancelledByResident: cancelled },
    ladderDepth: depth,
    deliveries: { owed: owed.length, made: owed.length - missing.length, missing, duplicated: dupDeliveries, refusedWhileDown: o.refused },
    messages: { published: o.stats.published, failed: o.stats.failed, retried: o.stats.retried, abandoned: o.stats.abandoned },
    telemetry,
    deadLetters: { sent: o.malformedSent, kept, reasons },
    families: { told: toldFamilies.size, answered: new Set(alarms.filter((a) => a.responses.some((r) => r.recordedBy.startsWith('family:'))).map((a) => a.id)).size, going: familyAnswers.filter((r) => r.going).length },
    checks,
    ok: checks.every((c) => c.ok),
  };
  return { kpis, points };
}

/**
 * Each device's stored readings over the run, as the API's telemetry series
 * count them (a bucket's `n`), against what its acknowledged messages carried.
 * A device that shows more (a redelivered message without a timestamp of its
 * own is stored at each arrival) loses nothing.
 */
async function storedPoints(api: ApiClient, sent: Map<string, number>, start: number, end: number): Promise<Kpis['telemetry']> {
  const range = `from=${new Date(start - 10 * MIN).toISOString()}&to=${new Date(end + 10 * MIN).toISOString()}&points=2000`;
  const devices = [...sent.keys()];
  const short: Kpis['telemetry']['short'] = [];
  let total = 0;
  let stored = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < devices.length; i = next++) {
      const deviceId = devices[i]!;
      const body = await api.call<{ series: Array<{ points: Array<{ n: number }> }> }>('GET', `/api/v1/devices/${deviceId}/telemetry?${range}`);
      const have = body.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.n, 0), 0);
      const want = sent.get(deviceId)!;
      total += want;
      stored += Math.min(have, want);
      if (have < want) short.push({ deviceId, sent: want, stored: have });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  short.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  return { sent: total, stored, lost: total - stored, short };
}

/** The KPI table as text, for the terminal. */
export function kpiTable(k: Kpis): string {
  const width = Math.max(...k.checks.map((c) => c.name.length));
  return [
    `${'KPI'.padEnd(width)}  ${'value'.padStart(12)}  target      result`,
    ...k.checks.map((c) => `${c.name.padEnd(width)}  ${c.value.padStart(12)}  ${c.target.padEnd(10)}  ${c.ok ? 'ok' : 'MISSED'}`),
  ].join('\n');
}
