import type { ComponentChildren } from 'preact';
import type { Device } from '../api.ts';
import { isLowBattery } from '../../../core/battery.ts';
import { term, type Lang } from '../i18n.ts';
import { t, useConsole, when } from '../state.ts';


export function deviceOk(d: Device): boolean {
  return d.online && !isLowBattery(d.battery);
}

/** "平安铃", "健康手环": what the device is, in the reader's language (the vendor's model name is secondary). */
export function deviceKind(d: Device, profiles: ReturnType<typeof useConsole>['profiles'], lang: Lang): string {
  const kind = profiles.get(d.profile)?.kind;
  return kind ? term(lang, 'kind', kind) : d.profile;
}

/** A device's line: its state as a dot and what it is, then whatever the list shows of it. */
function DeviceItem({ device, children }: { device: Device; children: ComponentChildren }) {
  const s = useConsole();
  return (
    <li class={deviceOk(device) ? 'ok' : 'problem'} data-device={device.id}>
      <span class={`dot ${device.online ? 'on' : 'off'}`} aria-hidden="true" />
      <span class="name">{deviceKind(device, s.profiles, s.lang)}</span>
      {children}
    </li>
  );
}

/** For a family: each device by what it is and whether it is fine ("平安铃 正常"), nothing technical. */
export function DeviceSummary({ devices }: { devices: Device[] }) {
  const s = useConsole();
  return (
    <ul class="devices summary" data-testid="devices">
      {devices
        .filter((d) => !d.decommissioned)
        .map((d) => (
          <DeviceItem device={d}>
            <span>{t(!d.online ? 'device.offline' : isLowBattery(d.battery) ? 'device.lowBattery' : 'device.fine')}</span>
          </DeviceItem>
        ))}
    </ul>
  );
}

/** Devices with online state, battery and last contact; compact for the resident card. */
export function DeviceList({ devices, compact = false }: { devices: Device[]; compact?: boolean }) {
  const s = useConsole();
  return (
    <ul class={`devices ${compact ? 'compact' : ''}`} data-testid="devices">
      {devices
        .filter((d) => !d.decommissioned)
        .map((d) => (
          <DeviceItem device={d}>
            <span class="muted">
              {s.profiles.get(d.profile)?.model ?? d.profile} · {d.id}
            </span>
            <span>{t(d.online ? 'device.online' : 'device.offline')}</span>
            <span class={isLowBattery(d.battery) ? 'warn' : ''}>
              {t('device.battery')} {d.battery === null ? '—' : `${Math.round(d.battery)} %`}
            </span>
            <span class="muted">
              {t('device.lastSeen')} {d.lastSeen ? when(d.lastSeen, s.lang) : t('device.never')}
            </span>
          </DeviceItem>
        ))}
    </ul>
  );
}
