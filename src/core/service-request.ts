/** The vocabulary of service requests (care/service-requests.ts), shared with the bus and the API. */

export const serviceKinds = ['meals', 'housekeeping', 'home_nursing', 'repair', 'errand', 'other'] as const;
export type ServiceKind = (typeof serviceKinds)[number];
export const serviceSources = ['device', 'family', 'staff'] as const;
export type ServiceSource = (typeof serviceSources)[number];
export const serviceStates = ['new', 'assigned', 'on_the_way', 'on_site', 'done', 'cancelled'] as const;
export type ServiceState = (typeof serviceStates)[number];
export const openServiceStates: readonly ServiceState[] = ['new', 'assigned', 'on_the_way', 'on_site'];

/** The steps of a request, the state each leads to, the states it may start from, and the columns it stamps. */
export const serviceTransitions = {
  assign: { to: 'assigned', from: ['new', 'assigned'], stamp: 'assigned' },
  start: { to: 'on_the_way', from: ['assigned'], stamp: 'started' },
  arrive: { to: 'on_site', from: ['assigned', 'on_the_way'], stamp: 'arrived' },
  done: { to: 'done', from: ['on_site'], stamp: 'done' },
  cancel: { to: 'cancelled', from: ['new', 'assigned', 'on_the_way', 'on_site'], stamp: 'cancelled' },
} as const satisfies Record<string, { to: ServiceState; from: readonly ServiceState[]; stamp: string }>;
export type ServiceStep = keyof typeof serviceTransitions;

/** A second press of a device's service button within this time, while the request is still new, is the same request. */
export const SERVICE_PRESS_MERGE_MS = 10 * 60_000;

/** A stamp: when a step was taken and by whom (role:name). */
export interface Stamp {
  at: number;
  by: string;
}

/** A request for a service (需求实时响应, 服务找人) and its progress. */
export interface ServiceRequest {
  id: string;
  residentId: string;
  stationId: string;
  kind: ServiceKind;
  note: string | null;
  source: ServiceSource;
  deviceId: string | null;
  /** Presses of the device's button it stands for (a worried resident presses again). */
  presses: number;
  state: ServiceState;
  providerId: string | null;
  worker: string | null;
  created: Stamp;
  assigned: Stamp | null;
  started: Stamp | null;
  arrived: Stamp | null;
  done: Stamp | null;
  cancelled: (Stamp & { reason: string | null }) | null;
  updatedAt: number;
}

