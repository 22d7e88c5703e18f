import type { Device } from '../api.ts';
import { t, useConsole, when } from '../state.ts';

export const LOW_BATTERY = 20;

export function deviceOk(d: Device): boolean {
  return d.online && (d.battery === null || d.battery >= LOW_BATTERY);
}

/** Devices with online state, battery and last contact; compact for the resident card. */
export function DeviceList({ devices, compact = false }: { devices: Device[]; compact?: boolean }) {
  const s = useConsole();
  return (
    <ul class={`devices ${compact ? 'compact' : ''}`} data-testid="devices">
      {devices
        .filter((d) => !d.decommissioned)
        .map((d) => (
          <li class={deviceOk(d) ? 'ok' : 'problem'} data-device={d.id}>
            <span class={`dot ${d.online ? 'on' : 'off'}`} aria-hidden="true" />
            <span class="name">{s.profiles.get(d.profile)?.model ?? d.profile}</span>
            <span class="muted">{d.id}</span>
            <span>{t(d.online ? 'device.online' : 'device.offline')}</span>
            <span class={d.battery !== null && d.battery < LOW_BATTERY ? 'warn' : ''}>
              {t('device.battery')} {d.battery === null ? '—' : `${Math.round(d.battery)} %`}
            </span>
            <span class="muted">
              {t('device.lastSeen')} {d.lastSeen ? when(d.lastSeen, s.lang) : t('device.never')}
            </span>
          </li>
        ))}
    </ul>
  );
}
