import type { Config } from '../config/config.ts';
import { newSecret } from '../core/secrets.ts';
import { Accounts } from '../accounts/accounts.ts';
import { Onboarding } from '../onboarding/onboarding.ts';
import { Provisioning } from '../onboarding/provisioning.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { AlarmCoreModule } from './alarm-core.ts';
import type { DevicesModule } from './devices.ts';
import type { Basics } from './module.ts';
import type { MqttModule } from './mqtt.ts';
import type { StorageModule } from './storage.ts';

export interface PeopleModule {
  onboarding: Onboarding;
  provisioning: Provisioning;
  accounts: Accounts;
  /** Set on the first start when no CAREBELL_ADMIN_TOKEN is configured: shown once, stored hashed. */
  bootstrapAdminToken: string | undefined;
  /** Set on the very first start only: the admin account's login, to print once. */
  firstAdmin: { username: string; password: string } | undefined;
}

/** Stations, residents, devices and the accounts of the people who use the console. */
export async function peopleModule(
  needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; core: AlarmCoreModule; mqtt: MqttModule; profiles: ProfileRegistry },
): Promise<PeopleModule> {
  const { config, storage, devices, core, mqtt, profiles, bus, clock } = needs;
  const { repos } = storage;
  const onboarding = new Onboarding({
    ...repos,
    uow: storage.uow,
    directory: devices.directory,
    profiles,
    clock,
    onResidentChanged: (id) => core.evaluator.residentChanged(id),
    onDeviceRevoked: (id) => mqtt.broker.disconnect(id),
  });
  const provisioning = new Provisioning({ bus, directory: devices.directory, deadLetters: repos.deadLetters, now: () => clock.now() });
  const accounts = new Accounts({ ...repos, clock, loginTtlMs: config.loginTtlHours * 3_600_000, onRevoked: (r) => bus.emit('session.revoked', r) });
  const firstAdmin = await accounts.ensureFirstAdmin();
  let bootstrapAdminToken: string | undefined;
  if (!config.adminToken && repos.tokens.count() === 0) {
    bootstrapAdminToken = newSecret();
    repos.tokens.insert(bootstrapAdminToken, 'bootstrap-admin', 'admin', clock.now());
  }
  return { onboarding, provisioning, accounts, bootstrapAdminToken, firstAdmin };
}
