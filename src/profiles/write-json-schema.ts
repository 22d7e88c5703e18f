import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { profileJsonSchemaText } from './json-schema.ts';

const target = fileURLToPath(new URL('../../device-profiles/profile.schema.json', import.meta.url));
writeFileSync(target, profileJsonSchemaText());
console.log(`wrote ${target}`);
