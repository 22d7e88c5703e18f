import { z } from 'zod';

/**
 * The normalised vocabulary every component after ingest speaks. Nothing past
 * ingest knows about vendors: a Reading is a quantity in its canonical unit,
 * a DeviceEvent is one of a closed set of care-relevant happenings.
 */

export const deviceEventTypes = [
  'sos',
  'sos_cancelled',
  'fall',
  'fall_cancelled',
  'smoke',
  'smoke_cleared',
  'gas',
  'gas_cleared',
  'water',
  'water_cleared',
  'door_open',
  'door_closed',
  'bed_exit',
  'bed_enter',
  'motion',
  'presence',
  'absence',
  'tamper',
  'low_battery',
  'worn',
  'removed',
  'test',
  /** A service button (the second button of a two-button pendant): a need, not an alarm. */
  'service',
  'power_on',
] as const;
export type DeviceEventType = (typeof deviceEventTypes)[number];
export const deviceEventTypeSchema = z.enum(deviceEventTypes);

export const readingSchema = z.object({
  deviceId: z.string().min(1),
  kind: z.string().min(1),
  value: z.number().finite(),
  unit: z.string().min(1),
  ts: z.number().int().nonnegative(),
});
export type Reading = z.infer<typeof readingSchema>;

export const deviceEventSchema = z.object({
  deviceId: z.string().min(1),
  type: deviceEventTypeSchema,
  ts: z.number().int().nonnegative(),
  seq: z.number().int().nonnegative().optional(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type DeviceEvent = z.infer<typeof deviceEventSchema>;

/** Where a device sits: used to tag telemetry and to route alarms. */
export interface DeviceContext {
  id: string;
  profileId: string;
  residentId: string | null;
  stationId: string | null;
  providerId: string | null;
}

export interface DeviceStatusChange {
  deviceId: string;
  online: boolean;
  lastSeen: number;
  reason: 'connected' | 'disconnected' | 'will' | 'status_message';
}

