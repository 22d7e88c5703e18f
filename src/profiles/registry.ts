import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillTopic, ownPrefix } from './topics.ts';
import { compileMessage, ProfileCompileError, type MessageDecoder } from './decoder.ts';
import { profileSchema, type DeviceProfile, type MessageSpec } from './schema.ts';
import { expandBlocks } from './library.ts';

/** A validated profile with its messages compiled into decoders. */
export interface CompiledMessage {
  spec: MessageSpec;
  decode: MessageDecoder;
}

export class CompiledProfile {
  readonly profile: DeviceProfile;
  readonly messages: CompiledMessage[];
  readonly maxPayloadBytes: number | undefined;

  constructor(profile: DeviceProfile) {
    this.profile = profile;
    this.maxPayloadBytes = profile.maxPayloadBytes;
    const topics = new Set<string>();
    this.messages = profile.messages.map((spec, i) => {
      if (topics.has(spec.topic)) throw new ProfileCompileError(`messages[${i}]: topic ${spec.topic} is used by two messages`);
      topics.add(spec.topic);
      return { spec, decode: compileMessage(spec, `messages[${i}] (${spec.name})`) };
    });
  }

  get id(): string {
    return this.profile.id;
  }

  /** The message spec for a concrete topic published by `deviceId`. */
  messageFor(deviceId: string, topic: string): CompiledMessage | undefined {
    return this.messages.find((m) => fillTopic(m.spec.topic, deviceId) === topic);
  }

  uplinkTopics(deviceId: string): string[] {
    return this.messages.map((m) => fillTopic(m.spec.topic, deviceId));
  }

  downlinkTopic(deviceId: string): string | undefined {
    return this.profile.commands ? fillTopic(this.profile.commands.topic, deviceId) : undefined;
  }

  /** Literal prefixes under which this device may hold wildcard subscriptions. */
  ownPrefixes(deviceId: string): string[][] {
    const patterns = [...this.messages.map((m) => m.spec.topic), ...(this.profile.commands ? [this.profile.commands.topic] : [])];
    return patterns.map((p) => ownPrefix(p, deviceId)).filter((p): p is string[] => p !== null);
  }

  /** The catalogue entry shown by the API. */
  summary(): Record<string, unknown> {
    const p = this.profile;
    return {
      id: p.id,
      vendor: p.vendor,
      model: p.model,
      kind: p.kind,
      description: p.description,
      heartbeatSeconds: p.heartbeatSeconds,
      wearable: p.wearable,
      topics: {
        uplink: p.messages.map((m) => ({ name: m.name, topic: m.topic, format: m.format })),
        downlink: p.commands?.topic ?? null,
      },
      readings: [...new Set(p.messages.flatMap((m) => m.readings.map((r) => r.kind)))],
      events: [...new Set(p.messages.flatMap((m) => m.events.flatMap((e) => (e.map ? Object.values(e.map) : e.event ? [e.event] : []))))],
      blocks: p.use,
      alarmRules: p.alarmRules,
    };
  }
}

export class ProfileError extends Error {
  readonly source: string;
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.source = source;
  }
}

export interface ProfileProblem {
  /** Where in the JSON, e.g. `messages.0.readings.2.scale` (`(root)` for the whole document). */
  path: string;
  message: string;
}

/** The key a rule keeps its state under (rules/*.ts): two rules of a profile may not share one. */
function ruleKey(rule: DeviceProfile['alarmRules'][number]): string {
  switch (rule.kind) {
    case 'event':
      return `event:${rule.event}:${rule.alarm}`;
    case 'threshold':
      return `threshold:${rule.reading}:${rule.alarm}`;
    case 'silence':
      return `silence:${rule.alarm}`;
    case 'vitals_score':
      return `vitals_score:${rule.alarm}`;
  }
}

/**
 * Validates raw JSON as a profile and compiles it, listing every problem with
 * its JSON path. Blocks (`use`, reading presets, `thresholds`) are expanded
 * first (library.ts); a problem in a rule a block brought names the block.
 */
export function checkProfile(raw: unknown): { profile: CompiledProfile; problems: [] } | { profile: undefined; problems: ProfileProblem[] } {
  const expanded = expandBlocks(raw);
  if (expanded.problems.length > 0) return { profile: undefined, problems: expanded.problems };
  const where = (path: PropertyKey[]): string => {
    if (path[0] === 'alarmRules' && typeof path[1] === 'number' && expanded.sources[path[1]] !== undefined) return [expanded.sources[path[1]], ...path.slice(2)].join('.');
    return path.join('.') || '(root)';
  };
  const parsed = profileSchema.safeParse(expanded.value);
  if (!parsed.success) {
    return { profile: undefined, problems: parsed.error.issues.map((i) => ({ path: where(i.path), message: i.message })) };
  }
  const seen = new Map<string, number>();
  const duplicates: ProfileProblem[] = [];
  parsed.data.alarmRules.forEach((rule, i) => {
    const key = ruleKey(rule);
    const first = seen.get(key);
    if (first !== undefined) duplicates.push({ path: where(['alarmRules', i]), message: `the same rule as ${where(['alarmRules', first])} (${key})` });
    else seen.set(key, i);
  });
  if (duplicates.length > 0) return { profile: undefined, problems: duplicates };
  try {
    return { profile: new CompiledProfile(parsed.data), problems: [] };
  } catch (err) {
    if (err instanceof ProfileCompileError) return { profile: undefined, problems: [{ path: '(root)', message: err.message }] };
    throw err;
  }
}

/** Validates raw JSON as a profile and compiles it; errors name the JSON path. */
export function compileProfile(raw: unknown, source = 'profile'): CompiledProfile {
  const checked = checkProfile(raw);
  if (!checked.profile) throw new ProfileError(source, checked.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return checked.profile;
}

export class ProfileRegistry {
  readonly #byId = new Map<string, CompiledProfile>();

  add(profile: CompiledProfile): void {
    if (this.#byId.has(profile.id)) throw new ProfileError(profile.id, 'a profile with this id is already registered');
    this.#byId.set(profile.id, profile);
  }
  get(id: string): CompiledProfile | undefined {
    return this.#byId.get(id);
  }
  has(id: string): boolean {
    return this.#byId.has(id);
  }
  all(): CompiledProfile[] {
    return [...this.#byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
  get size(): number {
    return this.#byId.size;
  }
}

/**
 * Reads every `*.json` profile in a directory (except the JSON Schema) into a
 * registry (a new one, or the given one: profiles registered through the API
 * are loaded after the shipped ones). Any bad file is an error.
 */
export function loadProfileDirectory(dir: string, registry = new ProfileRegistry()): ProfileRegistry {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'profile.schema.json').sort();
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (err) {
      throw new ProfileError(file, `not valid JSON: ${(err as Error).message}`);
    }
    const profile = compileProfile(raw, file);
    const expectedFile = `${profile.id}.json`;
    if (file !== expectedFile) throw new ProfileError(file, `the file of profile "${profile.id}" must be named ${expectedFile}`);
    registry.add(profile);
  }
  return registry;
}
