/**
 * Response statistics for a station and period. Targets from telecare practice
 * (TSA Quality Standards Framework): 97.5 % of alarm calls answered within 60 s,
 * 99 % within 180 s.
 */
export const ANSWER_TARGETS = [
  { withinSeconds: 60, targetShare: 0.975 },
  { withinSeconds: 180, targetShare: 0.99 },
] as const;

/** Beijing Shijingshan's published target for home emergency response: a team on site within 18 minutes. */
export const ON_SITE_TARGET_MINUTES = 18;

/** What the statistics read of an alarm (alarms/repository.ts `forStatistics`). */
export interface AlarmRow {
  type: string;
  severity: string;
  raised_at: number;
  acknowledged_at: number | null;
  acknowledged_by?: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  on_site_at?: number | null;
  outcome?: string | null;
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest-rank: the smallest value with at least p % of values at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface ResponseFigures {
  /** Alarms a person had to answer: all but those the resident cancelled or that cleared by themselves unanswered. */
  answerable: number;
  answered: number;
  unanswered: number;
  secondsToAnswer: { p50: number | null; p90: number | null; p99: number | null };
  within: Array<{ withinSeconds: number; share: number | null; targetShare: number; meetsTarget: boolean | null }>;
}

/** Staff, not the resident, the system or a family member (whose "I am going" is not the station's answer). */
const byStaff = (actor: string | null | undefined): boolean => actor != null && actor !== 'system' && actor !== 'resident' && !actor.startsWith('family:');

/** When the station answered: a staff acknowledgement, or a resolution by staff without one first. */
const answeredAt = (a: AlarmRow): number | null =>
  a.acknowledged_at !== null && (a.acknowledged_by === undefined || byStaff(a.acknowledged_by)) ? a.acknowledged_at : a.resolved_at !== null && byStaff(a.resolved_by) ? a.resolved_at : null;

export function responseFigures(alarms: AlarmRow[]): ResponseFigures {
  const answerable = alarms.filter((a) => answeredAt(a) !== null || !(a.resolved_by === 'system' || a.resolved_by === 'resident'));
  const times = answerable
    .map(answeredAt)
    .map((at, i) => (at === null ? null : (at - answerable[i]!.raised_at) / 1000))
    .filter((t): t is number => t !== null)
    .sort((x, y) => x - y);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    answerable: answerable.length,
    answered: times.length,
    unanswered: answerable.length - times.length,
    secondsToAnswer: { p50: round(percentile(times, 50)), p90: round(percentile(times, 90)), p99: round(percentile(times, 99)) },
    within: ANSWER_TARGETS.map(({ withinSeconds, targetShare }) => {
      const share = answerable.length === 0 ? null : times.filter((t) => t <= withinSeconds).length / answerable.length;
      return { withinSeconds, share: share === null ? null : Math.round(share * 10_000) / 10_000, targetShare, meetsTarget: share === null ? null : share >= targetShare };
    }),
  };
}

export interface OnSiteFigures {
  /** Alarms a responder reached the home for. */
  count: number;
  minutesToOnSite: { p50: number | null; p90: number | null };
  withinTarget: { minutes: number; share: number | null };
}

export function onSiteFigures(alarms: AlarmRow[]): OnSiteFigures {
  const minutes = alarms
    .filter((a) => a.on_site_at != null)
    .map((a) => (a.on_site_at! - a.raised_at) / 60_000)
    .sort((x, y) => x - y);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    count: minutes.length,
    minutesToOnSite: { p50: round(percentile(minutes, 50)), p90: round(percentile(minutes, 90)) },
    withinTarget: { minutes: ON_SITE_TARGET_MINUTES, share: minutes.length === 0 ? null : Math.round((minutes.filter((m) => m <= ON_SITE_TARGET_MINUTES).length / minutes.length) * 10_000) / 10_000 },
  };
}

export interface StationStatistics {
  stationIds: string[];
  from: string;
  to: string;
  alarms: number;
  byType: Record<string, number>;
  bySeverity: Record<string, number>;
  /** How alarms ended (false_alarm, visited…); "open" while not resolved, "cleared" when resolved without an outcome. */
  byOutcome: Record<string, number>;
  response: { all: ResponseFigures; critical: ResponseFigures };
  /** Where the critical alarms' answer times fall, for a chart against the 60 s and 180 s lines. */
  answerTimes: AnswerHistogram;
  onSite: OnSiteFigures;
}

/** Alarms raised in [from, to) at the station and every station below it (`rows`: those alarms). */
export function stationStatistics(rows: AlarmRow[], stationIds: string[], from: number, to: number): StationStatistics {
  const critical = rows.filter((r) => r.severity === 'critical');
  const count = (key: (r: AlarmRow) => string) => rows.reduce<Record<string, number>>((acc, r) => ((acc[key(r)] = (acc[key(r)] ?? 0) + 1), acc), {});
  return {
    stationIds,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    alarms: rows.length,
    byType: count((r) => r.type),
    bySeverity: count((r) => r.severity),
    byOutcome: count((r) => (r.resolved_at === null ? 'open' : (r.outcome ?? 'cleared'))),
    response: { all: responseFigures(rows), critical: responseFigures(critical) },
    answerTimes: answerHistogram(critical),
    onSite: onSiteFigures(rows),
  };
}

/** Where answer times fall, for a chart against the 60 s and 180 s targets: seconds up to each bound, then beyond, then never answered. */
export const ANSWER_BUCKETS = [15, 30, 60, 120, 180, 300] as const;

export interface AnswerHistogram {
  /** `upTo` null: longer than the last bound. */
  buckets: Array<{ upTo: number | null; count: number }>;
  unanswered: number;
}

export function answerHistogram(alarms: AlarmRow[]): AnswerHistogram {
  const answerable = alarms.filter((a) => answeredAt(a) !== null || !(a.resolved_by === 'system' || a.resolved_by === 'resident'));
  const buckets: AnswerHistogram['buckets'] = [...ANSWER_BUCKETS, null].map((upTo) => ({ upTo, count: 0 }));
  let unanswered = 0;
  for (const a of answerable) {
    const at = answeredAt(a);
    if (at === null) {
      unanswered++;
      continue;
    }
    const seconds = (at - a.raised_at) / 1000;
    buckets.find((b) => b.upTo === null || seconds <= b.upTo)!.count++;
  }
  return { buckets, unanswered };
}
