import type { Severity } from '../core/alarm.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * A reading beyond a threshold for a duration (ThingsBoard's SIMPLE when the
 * duration is 0, DURATION otherwise), with hysteresis: once raised, the
 * condition clears only when the value crosses `clearAt` (default: the
 * threshold itself). Durations are measured in device time between readings,
 * so a sparse reporter is never assumed to have stayed beyond the threshold.
 */
export interface ThresholdSpec {
  reading: string;
  above?: number | undefined;
  below?: number | undefined;
  forSeconds: number;
  clearAt?: number | undefined;
  alarm: string;
  severity: Severity;
}

export interface ThresholdState {
  /** Device time since which the condition has held; null when it does not hold. */
  since: number | null;
  active: boolean;
}

export function thresholdRule(spec: ThresholdSpec): Rule<ThresholdState> {
  const isAbove = spec.above !== undefined;
  const limit = (isAbove ? spec.above : spec.below)!;
  const clearAt = spec.clearAt ?? limit;
  const forMs = spec.forSeconds * 1000;
  const beyond = (v: number) => (isAbove ? v > limit : v < limit);
  const cleared = (v: number) => (isAbove ? v <= clearAt : v >= clearAt);
  return {
    key: `threshold:${spec.reading}:${spec.alarm}`,
    alarm: spec.alarm,
    initial: () => ({ since: null, active: false }),
    evaluate(state, input): RuleResult<ThresholdState> | null {
      if (input.kind !== 'reading' || input.reading.kind !== spec.reading) return unchanged(state);
      const { value, ts, unit } = input.reading;
      if (state.active) {
        if (!cleared(value)) return unchanged(state);
        return {
          state: { since: null, active: false },
          intents: [{ action: 'clear', alarm: spec.alarm, reason: `${spec.reading} back to ${value} ${unit} (clears at ${clearAt})` }],
        };
      }
      if (!beyond(value)) return state.since === null ? unchanged(state) : { state: { since: null, active: false }, intents: [] };
      const since = state.since ?? ts;
      if (ts - since < forMs) return since === state.since ? unchanged(state) : { state: { since, active: false }, intents: [] };
      return {
        state: { since, active: true },
        intents: [
          {
            action: 'raise',
            alarm: spec.alarm,
            severity: spec.severity,
            detail: { reading: spec.reading, value, unit, [isAbove ? 'above' : 'below']: limit, forSeconds: spec.forSeconds, since },
          },
        ],
      };
    },
  };
}
