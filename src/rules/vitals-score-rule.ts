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

export interface VitalsScoreState {
  latest: Record<string, { value: number; ts: number }>;
  level: Severity | null;
}

export function vitalsScoreRule(spec: { alarm: string; freshSeconds?: number }): Rule<VitalsScoreState> {
  const freshMs = (spec.freshSeconds ?? 900) * 1000;
  const rank = (s: Severity | null) => (s === 'critical' ? 2 : s === 'major' ? 1 : 0);
  return {
    key: `vitals_score:${spec.alarm}`,
    alarm: spec.alarm,
    initial: () => ({ latest: {}, level: null }),
    evaluate(state, input): RuleResult<VitalsScoreState> {
      if (input.kind !== 'reading' || !(input.reading.kind in bands)) return unchanged(state);
      const { kind, value, ts } = input.reading;
      const latest = { ...state.latest, [kind]: { value, ts } };
      const fresh: Record<string, number> = {};
      for (const [k, v] of Object.entries(latest)) if (ts - v.ts <= freshMs) fresh[k] = v.value;
      const score = earlyWarningScore(fresh);
      const level = scoreLevel(score);
      const next = { latest, level };
      if (rank(level) > rank(state.level)) {
        return { state: next, intents: [{ action: 'raise', alarm: spec.alarm, severity: level!, detail: { score: score.total, parts: score.parts, values: fresh } }] };
      }
      if (level === null && state.level !== null) {
        return { state: next, intents: [{ action: 'clear', alarm: spec.alarm, reason: `early-warning score down to ${score.total}` }] };
      }
      return { state: next, intents: [] };
    },
  };
}
