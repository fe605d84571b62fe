import { z } from 'zod';
import { rollbackFileSchema } from '../../src/config/rollback-schema.js';

/** Where the generated JSON Schema is committed, next to the example config that names it. */
export const JSON_SCHEMA_PATH = 'config/rollback.schema.json';

/**
 * The text of `config/rollback.schema.json`, generated from the zod schema the tool validates with. It
 * describes what a person writes (`io: 'input'`: defaults may be left out), in draft-07, which YAML editors
 * support widely. Checks the JSON Schema cannot say (paths that leave the root, a service with neither argv nor
 * pidFile) are left to the tool's own error.
 */
export function rollbackJsonSchemaText(): string {
  const schema = z.toJSONSchema(rollbackFileSchema, { io: 'input', target: 'draft-7' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
