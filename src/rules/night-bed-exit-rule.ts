import { inWindow, localMinutes, parseHhMm } from './local-time.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * Out of bed during the night (22:00–06:00 in the resident's time zone by
 * default) and not back within 20 minutes → a major alarm: a fall in the
 * bathroom at night is the classic case. Getting back into bed clears it.
 */
export interface NightBedExitSpec {
  from: string;
  to: string;
  returnMinutes: number;
  timeZone: string;
}

export interface NightBedExitState {
  /** When the resident got out of bed at night; null when in bed or out by day. */
  outSince: number | null;
  deviceId: string | null;
  active: boolean;
}

export function nightBedExitRule(spec: NightBedExitSpec): Rule<NightBedExitState> {
  const from = parseHhMm(spec.from);
  const to = parseHhMm(spec.to);
  const returnMs = spec.returnMinutes * 60_000;
  const back = (state: NightBedExitState, at: number): RuleResult<NightBedExitState> | null =>
    state.active
      ? { state: { outSince: null, deviceId: null, active: false }, intents: [{ action: 'clear', alarm: 'night_bed_exit', reason: `back in bed at ${new Date(at).toISOString()}` }] }
      : state.outSince === null
        ? unchanged(state)
        : { state: { outSince: null, deviceId: null, active: false }, intents: [] };
  return {
    key: 'night_bed_exit:night_bed_exit',
    alarm: 'night_bed_exit',
    readingKinds: new Set(['in_bed']),
    initial: () => ({ outSince: null, deviceId: null, active: false }),
    evaluate(state, input, now): RuleResult<NightBedExitState> | null {
      let exitAt: number | null = null;
      let enterAt: number | null = null;
      let deviceId: string | null = null;
      if (input.kind === 'event') {
        if (input.event.type === 'bed_exit') exitAt = input.event.ts;
        if (input.event.type === 'bed_enter') enterAt = input.event.ts;
        deviceId = input.event.deviceId;
      } else if (input.kind === 'reading' && input.reading.kind === 'in_bed') {
        if (input.reading.value === 0) exitAt = input.reading.ts;
        else enterAt = input.reading.ts;
        deviceId = input.reading.deviceId;
      }
      if (enterAt !== null) return back(state, enterAt);
      if (exitAt !== null) {
        if (state.outSince !== null || state.active) return unchanged(state); // still out: the first exit counts
        if (!inWindow(localMinutes(exitAt, spec.timeZone), from, to)) return unchanged(state);
        return { state: { outSince: exitAt, deviceId, active: false }, intents: [] };
      }
      if (input.kind !== 'tick' || state.outSince === null || state.active) return unchanged(state);
      if (now - state.outSince < returnMs) return unchanged(state);
      return {
        state: { ...state, active: true },
        intents: [
          {
            action: 'raise',
            alarm: 'night_bed_exit',
            severity: 'major',
            detail: { outOfBedSince: state.outSince, minutesOut: Math.round((now - state.outSince) / 60_000), returnMinutes: spec.returnMinutes, deviceId: state.deviceId },
          },
        ],
      };
    },
    // In bed, or raised: only getting in or out of bed changes anything (and the evaluator asks again then).
    nextTick(state) {
      if (state.outSince === null || state.active) return Number.POSITIVE_INFINITY;
      return state.outSince + returnMs;
    },
  };
}
