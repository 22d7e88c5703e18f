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
  /**
   * On a first start: makes the admin account (and the bootstrap token, when
   * no CAREBELL_ADMIN_TOKEN is set) and returns what to print once. Called
   * only when the gateway is listening, so a start that fails (a port in use)
   * creates nothing and the next one prints them. Nothing on later starts.
   */
  firstStart(): Promise<FirstStart>;
}

export interface FirstStart {
  /** The admin account's login, shown only now. */
  firstAdmin: { username: string; password: string } | undefined;
  /** An admin token, shown only now, stored hashed. */
  bootstrapAdminToken: string | undefined;
}

/** Stations, residents, devices and the accounts of the people who use the console. */
export function peopleModule(
  needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; core: AlarmCoreModule; mqtt: MqttModule; profiles: ProfileRegistry },
): PeopleModule {
  const { config, storage, devices, core, mqtt, profiles, bus, clock } = needs;
  const { repos } = storage;
  const onboarding = new Onboarding({
    ...repos,
    directory: devices.directory,
    profiles,
    clock,
    onResidentChanged: (id) => core.evaluator.residentChanged(id),
    onDeviceRevoked: (id) => mqtt.broker.disconnect(id),
  });
  const provisioning = new Provisioning({ bus, directory: devices.directory, deadLetters: repos.deadLetters, now: () => clock.now() });
  const accounts = new Accounts({ ...repos, clock, loginTtlMs: config.loginTtlHours * 3_600_000, onRevoked: (r) => bus.emit('session.revoked', r) });
  const firstStart = async (): Promise<FirstStart> => {
    const firstAdmin = await accounts.ensureFirstAdmin();
    let bootstrapAdminToken: string | undefined;
    if (!config.adminToken && (await repos.tokens.count()) === 0) {
      bootstrapAdminToken = newSecret();
      await repos.tokens.insert(bootstrapAdminToken, 'bootstrap-admin', 'admin', clock.now());
    }
    return { firstAdmin, bootstrapAdminToken };
  };
  return { onboarding, provisioning, accounts, firstStart };
}
