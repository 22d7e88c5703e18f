import { LOW_BATTERY_PERCENT } from '../core/battery.ts';
import type { QuantityKind } from './quantities.ts';

/**
 * What profiles share, by name: rule blocks (`"use": ["sos", "battery",
 * "silence"]`), the clinical defaults of vital signs (one place for heart rate,
 * SpO2, respiration; overridden per profile with `thresholds`, per resident in
 * the resident's settings) and reading presets (`{"use": "battery", "path":
 * "bat"}`). A profile file says only what is its own: topics, where each value
 * is in the payload, and what differs from these.
 */

type Severity = 'critical' | 'major' | 'minor' | 'info';

export interface ThresholdDefault {
  reading: QuantityKind;
  above?: number;
  below?: number;
  forSeconds: number;
  clearAt?: number;
  severity: Severity;
}

/**
 * Clinical and safety thresholds, by the alarm they raise. Vital signs follow
 * NEWS2's red bands for a resting older adult (heart rate ≤ 40 or ≥ 131 scores
 * 3; SpO2 ≤ 91 % scores 3): alarms fire a little inside them and only after
 * the value has held, so one bad sample raises nothing.
 */
export const clinicalDefaults = {
  heart_rate_high: { reading: 'heart_rate', above: 120, forSeconds: 120, clearAt: 110, severity: 'major' },
  heart_rate_low: { reading: 'heart_rate', below: 40, forSeconds: 120, clearAt: 45, severity: 'major' },
  spo2_low: { reading: 'spo2', below: 90, forSeconds: 60, clearAt: 92, severity: 'major' },
  respiration_low: { reading: 'respiration_rate', below: 8, forSeconds: 60, clearAt: 10, severity: 'major' },
  respiration_high: { reading: 'respiration_rate', above: 25, forSeconds: 120, clearAt: 22, severity: 'major' },
  wearable_removed: { reading: 'worn', below: 0.5, forSeconds: 1800, severity: 'minor' },
  low_battery: { reading: 'battery', below: LOW_BATTERY_PERCENT, forSeconds: 0, clearAt: 25, severity: 'minor' },
  gas: { reading: 'gas_level', above: 10, forSeconds: 0, clearAt: 5, severity: 'critical' },
  /** Hypertensive crisis (systolic ≥ 180 mmHg): a measurement, not a trend, so no duration. */
  bp_high: { reading: 'systolic_bp', above: 179, forSeconds: 0, clearAt: 160, severity: 'major' },
  /** Systolic ≤ 90 mmHg scores 3 in NEWS2. */
  bp_low: { reading: 'systolic_bp', below: 91, forSeconds: 0, clearAt: 100, severity: 'major' },
} as const satisfies Record<string, ThresholdDefault>;

export type ThresholdAlarm = keyof typeof clinicalDefaults;
export const thresholdAlarms = Object.keys(clinicalDefaults) as [ThresholdAlarm, ...ThresholdAlarm[]];

/** A rule a block contributes: an event rule, a threshold by its default's name, the silence rule or the early-warning score. */
export type BlockRule =
  | { kind: 'event'; event: string; alarm: string; severity: Severity; cancelledBy?: string[]; cancelWindowSeconds?: number; clearedBy?: string[] }
  | { kind: 'threshold'; default: ThresholdAlarm }
  | { kind: 'silence'; heartbeats: number }
  | { kind: 'vitals_score' };

/**
 * Rule blocks. A cancel (`cancelledBy`) or clearing event applies only where
 * the profile can emit it: the fall block cancels on `fall_cancelled` on a
 * radar and on `sos_cancelled` on a wristband whose cancel key is shared, and
 * has no cancel window on a device that cannot cancel at all.
 */
export const ruleBlocks = {
  sos: { description: 'an SOS press raises a critical alarm; a cancel within 30 s makes it a false alarm', rules: [{ kind: 'event', event: 'sos', alarm: 'sos', severity: 'critical', cancelledBy: ['sos_cancelled'], cancelWindowSeconds: 30 }] },
  fall: {
    description: 'a detected fall raises a critical alarm; a cancel within 30 s makes it a false alarm',
    rules: [{ kind: 'event', event: 'fall', alarm: 'fall', severity: 'critical', cancelledBy: ['fall_cancelled', 'sos_cancelled'], cancelWindowSeconds: 30 }],
  },
  smoke: { description: 'smoke raises a critical alarm', rules: [{ kind: 'event', event: 'smoke', alarm: 'smoke', severity: 'critical' }] },
  gas: { description: 'a gas alarm, or the gas level over its threshold, raises a critical alarm', rules: [{ kind: 'event', event: 'gas', alarm: 'gas', severity: 'critical' }, { kind: 'threshold', default: 'gas' }] },
  'water-leak': { description: 'water raises a major alarm that clears when the sensor is dry', rules: [{ kind: 'event', event: 'water', alarm: 'water_leak', severity: 'major', clearedBy: ['water_cleared'] }] },
  tamper: { description: 'the device opened or removed from its mount', rules: [{ kind: 'event', event: 'tamper', alarm: 'tamper', severity: 'major' }] },
  battery: { description: 'battery under 15 %, cleared at 25 %', rules: [{ kind: 'threshold', default: 'low_battery' }] },
  silence: { description: 'nothing heard for three heartbeats: device offline', rules: [{ kind: 'silence', heartbeats: 3 }] },
  'heart-rate': { description: 'heart rate too high or too low for 2 minutes', rules: [{ kind: 'threshold', default: 'heart_rate_high' }, { kind: 'threshold', default: 'heart_rate_low' }] },
  spo2: { description: 'SpO2 under 90 % for a minute', rules: [{ kind: 'threshold', default: 'spo2_low' }] },
  respiration: { description: 'breathing too slow or too fast', rules: [{ kind: 'threshold', default: 'respiration_low' }, { kind: 'threshold', default: 'respiration_high' }] },
  'blood-pressure': { description: 'a measured systolic pressure of 180 mmHg or more, or 90 or less', rules: [{ kind: 'threshold', default: 'bp_high' }, { kind: 'threshold', default: 'bp_low' }] },
  news2: { description: 'the NEWS2 early-warning score of the latest vital signs', rules: [{ kind: 'vitals_score' }] },
  worn: { description: 'a wearable off the wrist for 30 minutes', rules: [{ kind: 'threshold', default: 'wearable_removed' }] },
} as const satisfies Record<string, { description: string; rules: readonly BlockRule[] }>;

export type RuleBlockName = keyof typeof ruleBlocks;
export const ruleBlockNames = Object.keys(ruleBlocks) as [RuleBlockName, ...RuleBlockName[]];

/** Reading presets: the canonical unit a device usually sends, plausible ranges, the common encodings of a flag. */
export const readingPresets = {
  heart_rate: { kind: 'heart_rate', unit: 'bpm', range: [20, 250] },
  spo2: { kind: 'spo2', unit: '%', range: [50, 100] },
  systolic_bp: { kind: 'systolic_bp', unit: 'mmHg', range: [50, 260] },
  diastolic_bp: { kind: 'diastolic_bp', unit: 'mmHg', range: [30, 160] },
  body_temperature: { kind: 'body_temperature', unit: '°C', range: [30, 43] },
  respiration_rate: { kind: 'respiration_rate', unit: 'brpm', range: [0, 60] },
  steps: { kind: 'steps', unit: 'count' },
  battery: { kind: 'battery', unit: '%' },
  signal_strength: { kind: 'signal_strength', unit: 'dBm' },
  worn: { kind: 'worn', unit: 'bool', map: { on: 1, off: 0, true: 1, false: 0 } },
} as const satisfies Record<string, { kind: QuantityKind; unit: string; range?: readonly [number, number]; map?: Record<string, number> }>;

export type ReadingPresetName = keyof typeof readingPresets;
export const readingPresetNames = Object.keys(readingPresets) as [ReadingPresetName, ...ReadingPresetName[]];

const own = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The events a profile's messages can emit (by map, or by `event`). */
export function emittedEvents(raw: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const messages = Array.isArray(raw.messages) ? raw.messages : [];
  for (const m of messages) {
    if (!isObject(m) || !Array.isArray(m.events)) continue;
    for (const e of m.events) {
      if (!isObject(e)) continue;
      if (isObject(e.map)) for (const v of Object.values(e.map)) if (typeof v === 'string') out.add(v);
      if (typeof e.event === 'string') out.add(e.event);
    }
  }
  return out;
}

export interface BlockProblem {
  path: string;
  message: string;
}

/**
 * Expands a profile's blocks into the plain form the decoder and the rule
 * evaluator read: `use` → rules (placed before the profile's own
 * `alarmRules`), threshold defaults with the profile's `thresholds` applied,
 * reading presets merged under the field's own settings. Unknown names are
 * problems, reported with their JSON path; the rest is left to the schema.
 */
export function expandBlocks(raw: unknown): { value: unknown; problems: BlockProblem[]; sources: string[] } {
  if (!isObject(raw)) return { value: raw, problems: [], sources: [] };
  const problems: BlockProblem[] = [];
  const out: Record<string, unknown> = { ...raw };
  const emitted = emittedEvents(raw);

  // Reading presets.
  if (Array.isArray(raw.messages)) {
    out.messages = raw.messages.map((m, mi) => {
      if (!isObject(m) || !Array.isArray(m.readings)) return m;
      return {
        ...m,
        readings: m.readings.map((r, ri) => {
          if (!isObject(r) || r.use === undefined) return r;
          const name = r.use;
          if (typeof name !== 'string' || !own(readingPresets, name)) {
            problems.push({ path: `messages.${mi}.readings.${ri}.use`, message: `no reading preset ${JSON.stringify(name)}; presets: ${readingPresetNames.join(', ')}` });
            return r;
          }
          const { use: _use, ...fields } = r;
          return { ...readingPresets[name as ReadingPresetName], ...fields };
        }),
      };
    });
  }

  // Rule blocks and threshold overrides.
  const overrides = isObject(raw.thresholds) ? raw.thresholds : {};
  if (raw.thresholds !== undefined && !isObject(raw.thresholds)) problems.push({ path: 'thresholds', message: 'expected an object: alarm → {above, below, forSeconds, clearAt, severity}' });
  for (const alarm of Object.keys(overrides)) {
    if (!own(clinicalDefaults, alarm)) problems.push({ path: `thresholds.${alarm}`, message: `no threshold default ${alarm}; defaults: ${thresholdAlarms.join(', ')}` });
  }
  const threshold = (name: ThresholdAlarm): Record<string, unknown> => {
    const base = clinicalDefaults[name] as ThresholdDefault;
    const override = own(overrides, name) && isObject(overrides[name]) ? (overrides[name] as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = { kind: 'threshold', alarm: name, ...base, ...override };
    // An override may switch direction (above ↔ below) only by giving the new one.
    if (override.above !== undefined && base.below !== undefined && override.below === undefined) delete merged.below;
    if (override.below !== undefined && base.above !== undefined && override.above === undefined) delete merged.above;
    return merged;
  };
  const rules: unknown[] = [];
  /** Where each expanded rule came from, for problems found later (`use.0 (sos)`, `alarmRules.2`). */
  const sources: string[] = [];
  const use = raw.use === undefined ? [] : raw.use;
  if (!Array.isArray(use)) problems.push({ path: 'use', message: `expected a list of rule blocks: ${ruleBlockNames.join(', ')}` });
  else {
    use.forEach((name, i) => {
      if (typeof name !== 'string' || !own(ruleBlocks, name)) {
        problems.push({ path: `use.${i}`, message: `no rule block ${JSON.stringify(name)}; blocks: ${ruleBlockNames.join(', ')}` });
        return;
      }
      for (const rule of ruleBlocks[name as RuleBlockName].rules as readonly BlockRule[]) {
        sources.push(`use.${i} (${name})`);
        if (rule.kind === 'threshold') rules.push(threshold(rule.default));
        else if (rule.kind === 'event') {
          const { cancelledBy, cancelWindowSeconds, clearedBy, ...rest } = rule;
          const cancels = (cancelledBy ?? []).filter((e) => emitted.has(e));
          const clears = (clearedBy ?? []).filter((e) => emitted.has(e));
          rules.push({ ...rest, ...(cancels.length > 0 ? { cancelledBy: cancels, cancelWindowSeconds } : {}), ...(clears.length > 0 ? { clearedBy: clears } : {}) });
        } else rules.push({ ...rule });
      }
    });
  }
  const ownRules = Array.isArray(raw.alarmRules) ? raw.alarmRules : raw.alarmRules === undefined ? [] : undefined;
  if (ownRules === undefined) problems.push({ path: 'alarmRules', message: 'expected a list of rules' });
  out.alarmRules = [...rules, ...(ownRules ?? [])];
  (ownRules ?? []).forEach((_r, i) => sources.push(`alarmRules.${i}`));
  const usedThresholds = new Set(rules.map((r) => (r as { kind: string; alarm?: string }).kind === 'threshold' && (r as { alarm: string }).alarm));
  for (const alarm of Object.keys(overrides)) {
    if (own(clinicalDefaults, alarm) && !usedThresholds.has(alarm)) problems.push({ path: `thresholds.${alarm}`, message: `no block in "use" raises ${alarm}` });
  }
  return { value: out, problems, sources };
}
