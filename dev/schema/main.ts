import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../repo-root.js';
import { JSON_SCHEMA_PATH, rollbackJsonSchemaText } from './rollback-json-schema.js';

/**
 * `npm run schema`: writes `config/rollback.schema.json` from the config's zod schema. The file is committed
 * and shipped; a test fails when it no longer matches the schema, so run this after changing the schema.
 */
writeFileSync(path.join(repoRoot(), JSON_SCHEMA_PATH), rollbackJsonSchemaText());
process.stdout.write(`wrote ${JSON_SCHEMA_PATH}\n`);
