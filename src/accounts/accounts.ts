import type { Clock } from '../core/clock.ts';
import { CarebellError, conflict, invalid, notFound } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { hashSecret, newSecret, PASSWORD_COST, verifySecret } from '../core/secrets.ts';
import type { ApiTokenRepository } from '../store/api-tokens.ts';
import type { ResidentRepository } from '../store/residents.ts';
import type { StationRepository } from '../store/stations.ts';
import type { Provider, ProviderRepository, Role, User, UserRepository } from '../store/users.ts';

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  displayName?: string | null | undefined;
  stationId?: string | null | undefined;
  providerId?: string | null | undefined;
  residentId?: string | null | undefined;
}

export interface AccountsDeps {
  users: UserRepository;
  providers: ProviderRepository;
  tokens: ApiTokenRepository;
  stations: StationRepository;
  residents: ResidentRepository;
  clock: Clock;
  /** How long a login's token is valid. */
  loginTtlMs: number;
}

/** Failed logins allowed per username, and per client address, in the window. */
export const LOGIN_LIMITS = { perUser: 5, perAddress: 20, windowMs: 15 * 60_000 };

/**
 * Counts failed logins per username and per address in a sliding window.
 * Over the limit, logins are refused (429) until the oldest failure leaves the
 * window, even with the right password: guessing stays slow.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #recent(key: string, now: number): number[] {
    const list = (this.#failures.get(key) ?? []).filter((t) => t > now - LOGIN_LIMITS.windowMs);
    if (list.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, list);
    return list;
  }

  /** Seconds to wait, or 0 when a try is allowed. */
  retryAfter(username: string, address: string): number {
    const now = this.#clock.now();
    let wait = 0;
    for (const [key, limit] of [[`u:${username.toLowerCase()}`, LOGIN_LIMITS.perUser], [`a:${address}`, LOGIN_LIMITS.perAddress]] as const) {
      const list = this.#recent(key, now);
      if (list.length >= limit) wait = Math.max(wait, Math.ceil((list[list.length - limit]! + LOGIN_LIMITS.windowMs - now) / 1000));
    }
    return wait;
  }

  failed(username: string, address: string): void {
    const now = this.#clock.now();
    for (const key of [`u:${username.toLowerCase()}`, `a:${address}`]) this.#failures.set(key, [...this.#recent(key, now), now]);
  }

  succeeded(username: string): void {
    this.#failures.delete(`u:${username.toLowerCase()}`);
  }
}

/** Accounts, providers and logins. */
export class Accounts {
  readonly #d: AccountsDeps;
  readonly throttle: LoginThrottle;
  /** Compared against when the username is unknown, so timing does not tell which usernames exist. */
  #decoy: Promise<string> | undefined;

  constructor(deps: AccountsDeps) {
    this.#d = deps;
    this.throttle = new LoginThrottle(deps.clock);
  }

  async createUser(input: NewUser): Promise<User> {
    const { users, stations, providers, residents } = this.#d;
    const scope = { stationId: input.stationId ?? null, providerId: input.providerId ?? null, residentId: input.residentId ?? null };
    const needs: Record<Role, keyof typeof scope | null> = { admin: null, operator: 'stationId', provider: 'providerId', family: 'residentId' };
    const needed = needs[input.role];
    for (const key of Object.keys(scope) as Array<keyof typeof scope>) {
      if (key === needed && !scope[key]) throw invalid(key, `a ${input.role} account needs ${key}`);
      if (key !== needed && scope[key]) throw invalid(key, `a ${input.role} account has no ${key}`);
    }
    if (scope.stationId && !stations.get(scope.stationId)) throw invalid('stationId', `station ${scope.stationId} does not exist`);
    if (scope.providerId && !providers.get(scope.providerId)) throw invalid('providerId', `provider ${scope.providerId} does not exist`);
    if (scope.residentId && !residents.get(scope.residentId)) throw invalid('residentId', `resident ${scope.residentId} does not exist`);
    if (users.byUsername(input.username)) throw conflict(`username ${input.username} is taken`);
    const user: User = {
      id: newId('usr'),
      username: input.username,
      passwordHash: await hashSecret(input.password, PASSWORD_COST),
      role: input.role,
      displayName: input.displayName ?? null,
      ...scope,
      createdAt: this.#d.clock.now(),
      disabledAt: null,
    };
    users.insert(user);
    return user;
  }

  /** The first start: an admin account with a random password, returned once to be printed. */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | undefined> {
    if (this.#d.users.count() > 0) return undefined;
    const password = newSecret().slice(0, 20);
    await this.createUser({ username: 'admin', password, role: 'admin', displayName: 'Administrator' });
    return { username: 'admin', password };
  }

  /** Checks a password; returns a new token, or throws 401 (429 when throttled). */
  async login(username: string, password: string, address: string): Promise<{ token: string; expiresAt: number; user: User }> {
    const wait = this.throttle.retryAfter(username, address);
    if (wait > 0) throw Object.assign(new CarebellError('too_many_requests', `too many failed logins; try again in ${wait} s`), { retryAfter: wait });
    const user = this.#d.users.byUsername(username);
    const ok = user ? await verifySecret(password, user.passwordHash) : await this.#decoyCheck(password);
    if (!user || !ok || user.disabledAt !== null) {
      this.throttle.failed(username, address);
      throw new CarebellError('unauthorized', 'wrong username or password');
    }
    this.throttle.succeeded(username);
    const now = this.#d.clock.now();
    const token = newSecret();
    const expiresAt = now + this.#d.loginTtlMs;
    this.#d.tokens.insert(token, user.username, user.role, now, { userId: user.id, expiresAt });
    return { token, expiresAt, user };
  }

  async #decoyCheck(password: string): Promise<false> {
    this.#decoy ??= hashSecret(newSecret(), PASSWORD_COST);
    await verifySecret(password, await this.#decoy);
    return false;
  }

  logout(token: string): void {
    this.#d.tokens.revoke(token, this.#d.clock.now());
  }

  /** Disables an account and revokes its tokens at once. */
  disable(userId: string): User {
    const user = this.#d.users.get(userId);
    if (!user) throw notFound('user', userId);
    const now = this.#d.clock.now();
    this.#d.users.disable(userId, now);
    this.#d.tokens.revokeUser(userId, now);
    return this.#d.users.get(userId)!;
  }

  async changePassword(userId: string, password: string): Promise<void> {
    this.#d.users.setPassword(userId, await hashSecret(password, PASSWORD_COST));
    this.#d.tokens.revokeUser(userId, this.#d.clock.now());
  }

  createProvider(name: string): Provider {
    if (this.#d.providers.byName(name)) throw conflict(`provider ${name} exists`);
    const provider: Provider = { id: newId('prv'), name, createdAt: this.#d.clock.now() };
    this.#d.providers.insert(provider);
    return provider;
  }
}
