/**
 * config/rollback.schema.json (#12 point 7): generated from the zod schema the tool validates with, committed
 * and shipped, and named by the example config's first line so that editors check and complete it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_PATH, rollbackJsonSchemaText } from '../../../dev/schema/rollback-json-schema.js';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const EXAMPLE = 'config/rollback.example.yaml';

describe('config/rollback.schema.json', () => {
  it('is what the schema generates now (run `npm run schema` after changing the schema)', () => {
    expect(readFileSync(path.join(REPO, JSON_SCHEMA_PATH), 'utf8')).toBe(rollbackJsonSchemaText());
  });

  it('is named by the first line of the example config, beside it, and the example is valid', () => {
    const text = readFileSync(path.join(REPO, EXAMPLE), 'utf8');
    const first = text.split('\n')[0] ?? '';
    expect(first).toBe('# yaml-language-server: $schema=./rollback.schema.json');
    const named = path.resolve(path.dirname(path.join(REPO, EXAMPLE)), first.replace(/^.*\$schema=/, ''));
    expect(named).toBe(path.join(REPO, JSON_SCHEMA_PATH));
    expect(existsSync(named)).toBe(true);
    expect([...parseRollbackConfig(text, EXAMPLE).stories.keys()]).toEqual(['1.3', '1.9']);
  });
});
