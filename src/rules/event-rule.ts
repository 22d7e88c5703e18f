import type { DeviceEventType } from '../core/model.ts';
import type { Severity } from '../core/alarm.ts';
import { unchanged, type Rule, type RuleResult } from './types.ts';

/**
 * A device event raises an alarm: SOS, fall, smoke, gas, water leak, tamper.
 * With a cancel window (falls, SOS presses), a cancel from the resident within
 * the window resolves it as a false alarm before the family step of the ladder
 * (fall detectors raise false alarms often; this keeps families' trust).
 * A clearing event (water gone) resolves it.
 */
export interface EventRuleSpec {
  event: DeviceEventType;
  alarm: string;
  severity: Severity;
  cancelledBy?: DeviceEventType[];
  cancelWindowSeconds?: number;
  clearedBy?: DeviceEventType[];
}

export interface EventRuleState {
  /** When the raising event happened (device time), while the alarm may still be cancelled. */
  raisedAt: number | null;
  cancelUntil: number | null;
}

export function eventRule(spec: EventRuleSpec): Rule<EventRuleState> {
  const cancelledBy = new Set(spec.cancelledBy ?? []);
  const clearedBy = new Set(spec.clearedBy ?? []);
  const windowMs = (spec.cancelWindowSeconds ?? 0) * 1000;
  return {
    key: `event:${spec.event}:${spec.alarm}`,
    alarm: spec.alarm,
    initial: () => ({ raisedAt: null, cancelUntil: null }),
    evaluate(state, input): RuleResult<EventRuleState> | null {
      if (input.kind !== 'event') return unchanged(state);
      const { type, ts, seq } = input.event;
      if (type === spec.event) {
        return {
          state: { raisedAt: ts, cancelUntil: windowMs > 0 ? ts + windowMs : null },
          intents: [{ action: 'raise', alarm: spec.alarm, severity: spec.severity, detail: { event: type, at: ts, ...(seq !== undefined ? { seq } : {}) } }],
        };
      }
      if (cancelledBy.has(type) && state.raisedAt !== null) {
        const afterMs = ts - state.raisedAt;
        if (state.cancelUntil !== null && ts <= state.cancelUntil) {
          return {
            state: { raisedAt: null, cancelUntil: null },
            intents: [{ action: 'cancel', alarm: spec.alarm, reason: `${type} ${Math.round(afterMs / 1000)} s after the ${spec.event}` }],
          };
        }
        return {
          state: { raisedAt: null, cancelUntil: null },
          intents: [{ action: 'note', alarm: spec.alarm, kind: 'cancel_too_late', detail: { event: type, afterSeconds: Math.round(afterMs / 1000), windowSeconds: windowMs / 1000 } }],
        };
      }
      if (clearedBy.has(type)) {
        return { state: { raisedAt: null, cancelUntil: null }, intents: [{ action: 'clear', alarm: spec.alarm, reason: `device reported ${type}` }] };
      }
      return unchanged(state);
    },
  };
}
