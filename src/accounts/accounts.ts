import type { Clock } from '../core/clock.ts';
import { CarebellError, conflict, invalid, notFound } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { hashSecret, newSecret, PASSWORD_COST, sha256, verifySecret } from '../core/secrets.ts';
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
  /** A family account: who the person is to the resident. */
  relation?: string | null | undefined;
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
  /** Told when logins stop being valid, so live streams opened with them end at once. */
  onRevoked?: (revoked: { tokenDigest?: string; userId?: string; reason: string }) => void;
}

/**
 * Login throttling that nobody can turn against someone else:
 * - a username and address pair that keeps failing is refused (429) for a
 *   while: the guesser waits, the owner of the account logging in from
 *   another address (the station's PC) does not;
 * - an address that fails for many usernames is refused the same way;
 * - a username failing from many addresses is only slowed down (each wrong
 *   answer comes later, up to a few seconds), never locked.
 */
export const LOGIN_LIMITS = { perPair: 5, perAddress: 30, windowMs: 15 * 60_000, slowAfterPerUser: 10, maxSlowMs: 3_000 };

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

  #keys(username: string, address: string) {
    const user = username.toLowerCase();
    return { pair: `p:${user}\u0000${address}`, address: `a:${address}`, user: `u:${user}` };
  }

  /** Seconds to wait, or 0 when a try is allowed from this address. */
  retryAfter(username: string, address: string): number {
    const now = this.#clock.now();
    const keys = this.#keys(username, address);
    let wait = 0;
    for (const [key, limit] of [[keys.pair, LOGIN_LIMITS.perPair], [keys.address, LOGIN_LIMITS.perAddress]] as const) {
      const list = this.#recent(key, now);
      if (list.length >= limit) wait = Math.max(wait, Math.ceil((list[list.length - limit]! + LOGIN_LIMITS.windowMs - now) / 1000));
    }
    return wait;
  }

  /** How long to hold back a wrong answer for this username (failures from everywhere). */
  slowDownMs(username: string): number {
    const failures = this.#recent(this.#keys(username, '').user, this.#clock.now()).length;
    const over = failures - LOGIN_LIMITS.slowAfterPerUser;
    return over <= 0 ? 0 : Math.min(LOGIN_LIMITS.maxSlowMs, 100 * 2 ** Math.min(over, 10));
  }

  failed(username: string, address: string): void {
    const now = this.#clock.now();
    if (this.#failures.size > 100_000) this.#failures.clear(); // a flood of random names cannot grow memory for ever
    for (const key of Object.values(this.#keys(username, address))) this.#failures.set(key, [...this.#recent(key, now), now]);
  }

  succeeded(username: string, address: string): void {
    this.#failures.delete(this.#keys(username, address).pair);
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
    const needs: Record<Role, keyof typeof scope | null> = { admin: null, operator: 'stationId', provider: 'providerId', family: 'residentId', visitor: 'stationId' };
    const needed = needs[input.role];
    for (const key of Object.keys(scope) as Array<keyof typeof scope>) {
      if (key === needed && !scope[key]) throw invalid(key, `a ${input.role} account needs ${key}`);
      if (key !== needed && scope[key]) throw invalid(key, `a ${input.role} account has no ${key}`);
    }
    if (scope.stationId && !stations.get(scope.stationId)) throw invalid('stationId', `station ${scope.stationId} does not exist`);
    if (scope.providerId && !providers.get(scope.providerId)) throw invalid('providerId', `provider ${scope.providerId} does not exist`);
    if (scope.residentId && !residents.get(scope.residentId)) throw invalid('residentId', `resident ${scope.residentId} does not exist`);
    if (input.relation && input.role !== 'family') throw invalid('relation', `a ${input.role} account has no relation; only a family account does`);
    if (await users.byUsername(input.username)) throw conflict(`username ${input.username} is taken`);
    const user: User = {
      id: newId('usr'),
      username: input.username,
      passwordHash: await hashSecret(input.password, PASSWORD_COST),
      role: input.role,
      displayName: input.displayName ?? null,
      ...scope,
      relation: input.relation ?? null,
      createdAt: this.#d.clock.now(),
      disabledAt: null,
    };
    await users.insert(user);
    return user;
  }

  /** The first start: an admin account with a random password, returned once to be printed. */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.#d.users.count()) > 0) return undefined;
    const password = newSecret().slice(0, 20);
    await this.createUser({ username: 'admin', password, role: 'admin', displayName: 'Administrator' });
    return { username: 'admin', password };
  }

  /** Checks a password; returns a new token, or throws 401 (429 when throttled). */
  async login(username: string, password: string, address: string): Promise<{ token: string; expiresAt: number; user: User }> {
    const wait = this.throttle.retryAfter(username, address);
    if (wait > 0) throw Object.assign(new CarebellError('too_many_requests', `too many failed logins; try again in ${wait} s`), { retryAfter: wait });
    const user = await this.#d.users.byUsername(username);
    const ok = user ? await verifySecret(password, user.passwordHash) : await this.#decoyCheck(password);
    if (!user || !ok || user.disabledAt !== null) {
      this.throttle.failed(username, address);
      const slow = this.throttle.slowDownMs(username);
      if (slow > 0) await new Promise((resolve) => setTimeout(resolve, slow));
      throw new CarebellError('unauthorized', 'wrong username or password');
    }
    this.throttle.succeeded(username, address);
    const now = this.#d.clock.now();
    const token = newSecret();
    const expiresAt = now + this.#d.loginTtlMs;
    await this.#d.tokens.insert(token, user.username, user.role, now, { userId: user.id, expiresAt });
    return { token, expiresAt, user };
  }

  async #decoyCheck(password: string): Promise<false> {
    this.#decoy ??= hashSecret(newSecret(), PASSWORD_COST);
    await verifySecret(password, await this.#decoy);
    return false;
  }

  async logout(token: string): Promise<void> {
    await this.#d.tokens.revoke(token, this.#d.clock.now());
    this.#d.onRevoked?.({ tokenDigest: sha256(token), reason: 'logged out' });
  }

  /** Disables an account and revokes its tokens at once. */
  async disable(userId: string): Promise<User> {
    const user = await this.#d.users.get(userId);
    if (!user) throw notFound('user', userId);
    const now = this.#d.clock.now();
    await this.#d.users.disable(userId, now);
    await this.#d.tokens.revokeUser(userId, now);
    this.#d.onRevoked?.({ userId, reason: 'account disabled' });
    return (await this.#d.users.get(userId))!;
  }

  async enable(userId: string): Promise<User> {
    if (!(await this.#d.users.get(userId))) throw notFound('user', userId);
    await this.#d.users.enable(userId);
    return (await this.#d.users.get(userId))!;
  }

  async rename(userId: string, displayName: string): Promise<User> {
    if (!(await this.#d.users.get(userId))) throw notFound('user', userId);
    await this.#d.users.setDisplayName(userId, displayName);
    return (await this.#d.users.get(userId))!;
  }

  /** A new random password for `username` (locked out, forgotten): their logins end; returns it to hand over once. */
  async resetPassword(username: string): Promise<string> {
    const user = await this.#d.users.byUsername(username);
    if (!user) throw notFound('user', username);
    const password = newSecret().slice(0, 20);
    await this.changePassword(user.id, password);
    return password;
  }

  async changePassword(userId: string, password: string): Promise<void> {
    await this.#d.users.setPassword(userId, await hashSecret(password, PASSWORD_COST));
    await this.#d.tokens.revokeUser(userId, this.#d.clock.now());
    this.#d.onRevoked?.({ userId, reason: 'password changed' });
  }

  async createProvider(name: string, webhookUrl: string | null = null): Promise<Provider> {
    if (this.#d.providers.byName(name)) throw conflict(`provider ${name} exists`);
    const provider: Provider = { id: newId('prv'), name, webhookUrl, createdAt: this.#d.clock.now() };
    await this.#d.providers.insert(provider);
    return provider;
  }
}
