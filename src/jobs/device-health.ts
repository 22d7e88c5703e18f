import type { DeviceDirectory, KnownDevice } from '../devices/directory.ts';
import { isLowBattery } from '../core/battery.ts';


export interface DeviceHealthReport {
  providerId: string | null;
  generatedAt: string;
  totals: { devices: number; online: number; offline: number; silent: number; lowBattery: number; neverHeard: number; deadLetters24h: number };
  problems: Array<{
    deviceId: string;
    residentId: string | null;
    /** Whose home it is and where, for the technician's round (a station's device: the station's name). */
    residentName: string | null;
    address: string | null;
    stationName: string | null;
    profile: string;
    issues: string[];
    /** The same issues for a client to word in its language: never_heard, silent (value: hours), low_battery (percent), rejected (count in 24 h). */
    codes: Array<{ code: 'never_heard' | 'silent' | 'low_battery' | 'rejected'; value?: number }>;
    lastSeen: string | null;
    battery: number | null;
    deadLetters24h: number;
  }>;
}

/** Where a device is, as a technician finds it. */
export interface DevicePlaces {
  resident(id: string): { name: string; address: string } | undefined;
  station(id: string): { name: string } | undefined;
}

/** What a device's state says it needs: never heard since onboarding, silent for 3 heartbeats (for how long), a low battery. */
export function deviceCondition(d: KnownDevice, now: number): { neverHeard: boolean; silentMs: number | null; lowBattery: boolean } {
  const silentMs = d.lastSeen !== null && now - d.lastSeen > 3 * d.profile.profile.heartbeatSeconds * 1000 ? now - d.lastSeen : null;
  return { neverHeard: d.lastSeen === null, silentMs, lowBattery: isLowBattery(d.battery) };
}

/**
 * The daily device health report of one provider: what a home-bed provider's
 * technicians should visit. Silent = nothing heard for 3 heartbeats.
 */
export function deviceHealthReports(
  /** Dead letters per device over the last 24 hours (store/dead-letters.ts countByDeviceSince). */
  deadLettersOf: Map<string, number>,
  directory: DeviceDirectory,
  places: DevicePlaces,
  now: number,
  include: (d: KnownDevice) => boolean = () => true,
): DeviceHealthReport[] {
  const byProvider = new Map<string | null, DeviceHealthReport>();
  for (const d of directory.all()) {
    if (d.decommissioned || !include(d)) continue;
    const providerId = d.providerId;
    let report = byProvider.get(providerId);
    if (!report) {
      report = { providerId, generatedAt: new Date(now).toISOString(), totals: { devices: 0, online: 0, offline: 0, silent: 0, lowBattery: 0, neverHeard: 0, deadLetters24h: 0 }, problems: [] };
      byProvider.set(providerId, report);
    }
    const t = report.totals;
    const issues: string[] = [];
    const codes: DeviceHealthReport['problems'][number]['codes'] = [];
    const dl = deadLettersOf.get(d.id) ?? 0;
    t.devices++;
    if (d.online) t.online++;
    else t.offline++;
    const condition = deviceCondition(d, now);
    if (condition.neverHeard) {
      t.neverHeard++;
      issues.push('never heard since onboarding');
      codes.push({ code: 'never_heard' });
    } else if (condition.silentMs !== null) {
      t.silent++;
      issues.push(`silent for ${Math.round(condition.silentMs / 3_600_000)} h`);
      codes.push({ code: 'silent', value: Math.round(condition.silentMs / 3_600_000) });
    }
    if (condition.lowBattery) {
      t.lowBattery++;
      issues.push(`battery ${d.battery} %`);
      codes.push({ code: 'low_battery', value: d.battery! });
    }
    if (dl > 0) {
      t.deadLetters24h += dl;
      issues.push(`${dl} rejected messages in 24 h`);
      codes.push({ code: 'rejected', value: dl });
    }
    if (issues.length > 0) {
      const resident = d.residentId ? places.resident(d.residentId) : undefined;
      report.problems.push({
        deviceId: d.id,
        residentId: d.residentId,
        residentName: resident?.name ?? null,
        address: resident?.address ?? null,
        stationName: d.stationId ? (places.station(d.stationId)?.name ?? null) : null,
        profile: d.profile.id,
        issues,
        codes,
        lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen).toISOString(),
        battery: d.battery,
        deadLetters24h: dl,
      });
    }
  }
  return [...byProvider.values()];
}
