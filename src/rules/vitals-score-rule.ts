import type { Severity } from '../alarms/model.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * Vitals early-warning score with the NEWS2 bands (Royal College of
 * Physicians, 2017) for the parameters a home device measures: respiration
 * rate, SpO2 (scale 1), systolic blood pressure, pulse and temperature.
 * Consciousness and supplemental oxygen are not observable and score 0.
 * Total ≥ 5 or any single parameter scoring 3 → major; total ≥ 7 → critical.
 * A reading older than `freshSeconds` no longer counts.
 */
type Band = [upTo: number, score: number];
const bands: Record<string, Band[]> = {
  respiration_rate: [[8, 3], [11, 1], [20, 0], [24, 2], [Infinity, 3]],
  spo2: [[91.99, 3], [93.99, 2], [95.99, 1], [Infinity, 0]],
  systolic_bp: [[90, 3], [100, 2], [110, 1], [219, 0], [Infinity, 3]],
  heart_rate: [[40, 3], [50, 1], [90, 0], [110, 1], [130, 2], [Infinity, 3]],
  body_temperature: [[35, 3], [36, 1], [38, 0], [39, 1], [Infinity, 2]],
};

export const scoredParameters = Object.keys(bands);

export function parameterScore(kind: string, value: number): number | undefined {
  const table = bands[kind];
  if (!table) return undefined;
  for (const [upTo, score] of table) if (value <= upTo) return score;
  return undefined;
}

export function earlyWarningScore(values: Record<string, number>): { total: number; max: number; parts: Record<string, number> } {
  const parts: Record<string, number> = {};
  let total = 0;
  let max = 0;
  for (const [kind, value] of Object.entries(values)) {
    const score = parameterScore(kind, value);
    if (score === undefined) continue;
    parts[kind] = score;
    total += score;
    max = Math.max(max, score);
  }
  return { total, max, parts };
}

export function scoreLevel(score: { total: number; max: number }): Severity | null {
  if (score.total >= 7) return 'critical';
  if (score.total >= 5 || score.max >= 3) return 'major';
  return null;
}

type Parameter = 'respiration_rate' | 'spo2' | 'systolic_bp' | 'heart_rate' | 'body_temperature';
const parameters: Parameter[] = ['respiration_rate', 'spo2', 'systolic_bp', 'heart_rate', 'body_temperature'];
const slot = new Map<string, number>(parameters.map((p, i) => [p, i]));

/** The latest value and time of each scored parameter, in `parameters` order (NaN: none yet). */
export interface VitalsScoreState {
  latest: Float64Array;
  at: Float64Array;
  level: Severity | null;
}

export function vitalsScoreRule(spec: { alarm: string; freshSeconds?: number }): Rule<VitalsScoreState> {
  const freshMs = (spec.freshSeconds ?? 900) * 1000;
  const rank = (s: Severity | null) => (s === 'critical' ? 2 : s === 'major' ? 1 : 0);
  return {
    key: `vitals_score:${spec.alarm}`,
    alarm: spec.alarm,
    readingKinds: new Set(parameters),
    batch: true,
    // Only the level: after a restart the values come back with the next readings.
    durable: (state) => (state.level === null ? '{"level":null}' : `{"level":"${state.level}"}`),
    initial: () => ({ latest: new Float64Array(parameters.length).fill(NaN), at: new Float64Array(parameters.length).fill(NaN), level: null }),
    evaluate(state, input): RuleResult<VitalsScoreState> {
      const readings = input.kind === 'reading' ? [input.reading] : input.kind === 'readings' ? input.readings : [];
      if (!readings.some((r) => slot.has(r.kind))) return unchanged(state);
      // Persisted state carries only the level: the arrays are rebuilt from new readings.
      const latest = state.latest instanceof Float64Array ? state.latest.slice() : new Float64Array(parameters.length).fill(NaN);
      const at = state.at instanceof Float64Array ? state.at.slice() : new Float64Array(parameters.length).fill(NaN);
      let ts = 0;
      for (const r of readings) {
        const i = slot.get(r.kind);
        if (i === undefined) continue;
        latest[i] = r.value;
        at[i] = r.ts;
        ts = Math.max(ts, r.ts);
      }
      let total = 0;
      let max = 0;
      for (let p = 0; p < parameters.length; p++) {
        if (Number.isNaN(latest[p]!) || ts - at[p]! > freshMs) continue;
        const score = parameterScore(parameters[p]!, latest[p]!)!;
        total += score;
        if (score > max) max = score;
      }
      const level = scoreLevel({ total, max });
      const next = { latest, at, level };
      if (rank(level) > rank(state.level)) {
        const fresh: Record<string, number> = {};
        parameters.forEach((p, k) => {
          if (!Number.isNaN(latest[k]!) && ts - at[k]! <= freshMs) fresh[p] = latest[k]!;
        });
        const score = earlyWarningScore(fresh);
        return { state: next, intents: [{ action: 'raise', alarm: spec.alarm, severity: level!, detail: { score: score.total, parts: score.parts, values: fresh } }] };
      }
      if (level === null && state.level !== null) {
        return { state: next, intents: [{ action: 'clear', alarm: spec.alarm, reason: `early-warning score down to ${total}` }] };
      }
      return { state: next, intents: [] };
    },
  };
}
