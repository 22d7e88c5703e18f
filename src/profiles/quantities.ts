/**
 * The canonical quantities a Reading can carry, each in one unit. A profile
 * declares the unit its device sends; ingest converts it to the canonical one
 * so that nothing after ingest knows vendors' units.
 */
export interface Quantity {
  unit: string;
  /** Physically plausible bounds in the canonical unit; a profile's range must sit inside. */
  bounds: [number, number];
  description: string;
}

export const quantities = {
  heart_rate: { unit: 'bpm', bounds: [0, 300], description: 'pulse, beats per minute' },
  respiration_rate: { unit: 'brpm', bounds: [0, 80], description: 'breaths per minute' },
  spo2: { unit: '%', bounds: [0, 100], description: 'peripheral oxygen saturation' },
  systolic_bp: { unit: 'mmHg', bounds: [0, 300], description: 'systolic blood pressure' },
  diastolic_bp: { unit: 'mmHg', bounds: [0, 250], description: 'diastolic blood pressure' },
  mean_arterial_pressure: { unit: 'mmHg', bounds: [0, 250], description: 'mean arterial pressure' },
  body_temperature: { unit: '°C', bounds: [25, 45], description: 'body temperature' },
  steps: { unit: 'count', bounds: [0, 200_000], description: 'steps today' },
  battery: { unit: '%', bounds: [0, 100], description: 'battery charge' },
  worn: { unit: 'bool', bounds: [0, 1], description: 'wearable on the wrist (1) or taken off (0)' },
  presence: { unit: 'bool', bounds: [0, 1], description: 'someone in the sensed area' },
  in_bed: { unit: 'bool', bounds: [0, 1], description: 'someone lying in bed' },
  motion: { unit: 'bool', bounds: [0, 1], description: 'motion detected in the last interval' },
  door_open: { unit: 'bool', bounds: [0, 1], description: 'door or window open' },
  smoke_alarm: { unit: 'bool', bounds: [0, 1], description: 'smoke alarm condition' },
  gas_level: { unit: '%LEL', bounds: [0, 100], description: 'combustible gas, % of lower explosive limit' },
  gas_alarm: { unit: 'bool', bounds: [0, 1], description: 'gas alarm condition' },
  water_leak: { unit: 'bool', bounds: [0, 1], description: 'water detected' },
  signal_strength: { unit: 'dBm', bounds: [-140, 0], description: 'radio signal strength' },
  ambient_temperature: { unit: '°C', bounds: [-40, 85], description: 'room temperature' },
} as const satisfies Record<string, Quantity>;

export type QuantityKind = keyof typeof quantities;
export const quantityKinds = Object.keys(quantities) as [QuantityKind, ...QuantityKind[]];

/** Source units a profile may declare, each with its conversion to a canonical unit. */
export const unitConversions: Record<string, { to: string; convert: (v: number) => number }> = {
  bpm: { to: 'bpm', convert: (v) => v },
  brpm: { to: 'brpm', convert: (v) => v },
  '%': { to: '%', convert: (v) => v },
  mmHg: { to: 'mmHg', convert: (v) => v },
  kPa: { to: 'mmHg', convert: (v) => v * 7.500617 },
  '°C': { to: '°C', convert: (v) => v },
  '°F': { to: '°C', convert: (v) => ((v - 32) * 5) / 9 },
  count: { to: 'count', convert: (v) => v },
  bool: { to: 'bool', convert: (v) => v },
  '%LEL': { to: '%LEL', convert: (v) => v },
  ppm_methane: { to: '%LEL', convert: (v) => v / 500 }, // methane LEL = 5 % vol = 50,000 ppm
  dBm: { to: 'dBm', convert: (v) => v },
};

export const sourceUnits = Object.keys(unitConversions) as [string, ...string[]];
