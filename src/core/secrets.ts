import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * How secrets are stored.
 *
 * People's passwords: scrypt, `scrypt$N$r$p$salt$hash` (base64url), N=2^15. A
 * chosen password may be guessable; a slow hash makes each guess expensive.
 *
 * Device secrets: 256-bit random values the gateway issues, never chosen by a
 * person. No guess can succeed, so stretching buys nothing and costs a reconnect
 * storm dearly (scrypt at N=2^12 held 18,000 devices to ~120 connections/s).
 * They are stored as `hmac-sha256$salt$mac`: a salted HMAC, checked in
 * microseconds; a leaked database still gives nothing usable. Older scrypt
 * hashes are still accepted and replaced on the device's next good login.
 */
export const PASSWORD_COST = 1 << 15;
/** The cost of the scrypt hashes device secrets had before `hmac-sha256$`; tests make such legacy hashes with it. */
export const LEGACY_DEVICE_SECRET_COST = 1 << 12;
const KEY_LENGTH = 32;
const DEVICE_SCHEME = 'hmac-sha256';

function scryptAsync(secret: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A password (or anything a person chose): scrypt. */
export async function hashSecret(secret: string, cost = PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, cost, 8, 1);
  return `scrypt$${cost}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const deviceMac = (secret: string, salt: Buffer): Buffer => createHmac('sha256', salt).update(secret, 'utf8').digest();

/** A device secret issued by the gateway: a salted HMAC-SHA256, made and checked in microseconds. */
export function hashDeviceSecret(secret: string): string {
  const salt = randomBytes(16);
  return `${DEVICE_SCHEME}$${salt.toString('base64url')}$${deviceMac(secret, salt).toString('base64url')}`;
}

/** True when a stored device hash is the current scheme (else: verify with scrypt once, then replace it). */
export const isCurrentDeviceHash = (stored: string): boolean => stored.startsWith(`${DEVICE_SCHEME}$`);

/** Checks a device secret against its stored hash; synchronous for the current scheme. */
export function verifyDeviceSecret(secret: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 3 || parts[0] !== DEVICE_SCHEME) return false;
  const expected = Buffer.from(parts[2]!, 'base64url');
  const mac = deviceMac(secret, Buffer.from(parts[1]!, 'base64url'));
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

/** A new device secret or API token: 32 random bytes, base64url. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** For high-entropy tokens (never for passwords): a fast, unsalted digest is enough. */
export const sha256 = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
