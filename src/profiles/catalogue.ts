import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalid } from '../core/errors.ts';
import { runFixtures, type FixtureResult } from './fixtures.ts';
import { checkProfile, loadProfileDirectory, type CompiledProfile, type ProfileProblem, type ProfileRegistry } from './registry.ts';

export interface ProfileValidation {
  /** The schema holds and every fixture decodes as it says. */
  valid: boolean;
  id: string | null;
  problems: ProfileProblem[];
  fixtures: FixtureResult[];
}

/**
 * The catalogue beyond the shipped profiles: a provider validates a new
 * profile (schema problems with their JSON paths, then its fixtures run) and
 * registers it. Registered profiles are files in `$CAREBELL_DATA_DIR/profiles/`,
 * loaded after the shipped ones on every start.
 */
export class ProfileCatalogue {
  readonly registry: ProfileRegistry;
  readonly dir: string;

  constructor(registry: ProfileRegistry, dataDir: string) {
    this.registry = registry;
    this.dir = join(dataDir, 'profiles');
    if (existsSync(this.dir)) loadProfileDirectory(this.dir, registry);
  }

  validate(raw: unknown): ProfileValidation & { compiled?: CompiledProfile } {
    const checked = checkProfile(raw);
    if (!checked.profile) {
      const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
      return { valid: false, id, problems: checked.problems, fixtures: [] };
    }
    const fixtures = runFixtures(checked.profile);
    return { valid: fixtures.every((f) => f.ok), id: checked.profile.id, problems: [], fixtures, compiled: checked.profile };
  }

  register(raw: unknown): { profile: CompiledProfile; validation: ProfileValidation } {
    const { compiled, ...validation } = this.validate(raw);
    if (!compiled) throw invalid(validation.problems[0]!.path, `the profile is not valid: ${validation.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    const failed = validation.fixtures.filter((f) => !f.ok);
    if (failed.length > 0) throw invalid('fixtures', `fixtures fail: ${failed.map((f) => `${f.name}: ${f.problems.join(', ')}`).join('; ')}`);
    if (this.registry.has(compiled.id)) throw conflict(`profile ${compiled.id} exists; give a new model a new id`);
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `${compiled.id}.json`);
    writeFileSync(file + '.tmp', JSON.stringify(raw, null, 2) + '\n');
    renameSync(file + '.tmp', file);
    this.registry.add(compiled);
    return { profile: compiled, validation };
  }
}
