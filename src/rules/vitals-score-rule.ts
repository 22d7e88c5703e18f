import type { Severity } from '../core/alarm.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * Vitals early-warning score with the NEWS2 bands (Royal College of
 * Physicians, 2017) for the parameters a home device measures: respiration
 * rate, SpO2 (scale 1), systolic blood pressure, pulse and temperature.
 * Consciousness and supplemental oxygen are not observable and score 0.
 * Total ≥ 5 or any single parameter scoring 3 → major; total ≥ 7 → critical.
 * A reading older than `freshSeconds` no longer counts.
 */
/** NEWS2 bands as straight-line scorers (they run for every vitals message). */
const scorers: Record<string, (v: number) => number> = {
  respiration_rate: (v) => (v <= 8 ? 3 : v <= 11 ? 1 : v <= 20 ? 0 : v <= 24 ? 2 : 3),
  spo2: (v) => (v < 92 ? 3 : v < 94 ? 2 : v < 96 ? 1 : 0),
  systolic_bp: (v) => (v <= 90 ? 3 : v <= 100 ? 2 : v <= 110 ? 1 : v <= 219 ? 0 : 3),
  heart_rate: (v) => (v <= 40 ? 3 : v <= 50 ? 1 : v <= 90 ? 0 : v <= 110 ? 1 : v <= 130 ? 2 : 3),
  body_temperature: (v) => (v <= 35 ? 3 : v <= 36 ? 1 : v <= 38 ? 0 : v <= 39 ? 1 : 2),
};

export function parameterScore(kind: string, value: number): number | undefined {
  return scorers[kind]?.(value);
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
  return levelOf(score.total, score.max);
}

const levelOf = (total: number, max: number): Severity | null => (total >= 7 ? 'critical' : total >= 5 || max >= 3 ? 'major' : null);

const parameters = ['respiration_rate', 'spo2', 'systolic_bp', 'heart_rate', 'body_temperature'] as const;
const parameterScorers = parameters.map((p) => scorers[p]!);

/** Only the warning level: the values live in the evaluator's cache of latest readings. */
export interface VitalsScoreState {
  level: Severity | null;
}

export function vitalsScoreRule(spec: { alarm: string; freshSeconds?: number }): Rule<VitalsScoreState> {
  const freshMs = (spec.freshSeconds ?? 900) * 1000;
  const rank = (s: Severity | null) => (s === 'critical' ? 2 : s === 'major' ? 1 : 0);
  // Scratch for one evaluation (rules run one at a time): each parameter's score (-1: no fresh value) and value.
  const scored = new Array<number>(parameters.length).fill(-1);
  const values = new Array<number>(parameters.length).fill(0);
  return {
    key: `vitals_score:${spec.alarm}`,
    alarm: spec.alarm,
    readingKinds: new Set(parameters),
    batch: true,
    initial: () => ({ level: null }),
    evaluate(state, input): RuleResult<VitalsScoreState> | null {
      if (input.kind !== 'readings') return unchanged(state);
      let ts = 0;
      for (const r of input.readings) if (r.kind in scorers && r.ts > ts) ts = r.ts;
      if (ts === 0) return unchanged(state);
      // Scored once: the raise below reports these same parts and values.
      let total = 0;
      let max = 0;
      for (let p = 0; p < parameters.length; p++) {
        const latest = input.latest.get(parameters[p]!);
        if (latest === undefined || ts - latest.ts > freshMs) {
          scored[p] = -1;
          continue;
        }
        const score = parameterScorers[p]!(latest.value);
        scored[p] = score;
        values[p] = latest.value;
        total += score;
        if (score > max) max = score;
      }
      const level = levelOf(total, max);
      if (level === state.level) return unchanged(state);
      if (rank(level) > rank(state.level)) {
        const fresh: Record<string, number> = {};
        const parts: Record<string, number> = {};
        for (let p = 0; p < parameters.length; p++) {
          if (scored[p]! < 0) continue;
          fresh[parameters[p]!] = values[p]!;
          parts[parameters[p]!] = scored[p]!;
        }
        return { state: { level }, intents: [{ action: 'raise', alarm: spec.alarm, severity: level!, detail: { score: total, parts, values: fresh } }] };
      }
      if (level === null) return { state: { level }, intents: [{ action: 'clear', alarm: spec.alarm, reason: `early-warning score down to ${total}` }] };
      return { state: { level }, intents: [] }; // down from critical to major: the open alarm stays as it is
    },
  };
}
