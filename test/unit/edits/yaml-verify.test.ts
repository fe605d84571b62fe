/**
 * The re-parse check is the last line of defence against a wrong splice. No real input gets past the
 * splice rules to it, so the data comparison is made to disagree here, and nothing may be written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { StepFailedError } from '../../../src/model/errors.js';
import { editYamlFile } from '../../../src/edits/index.js';
import { makeTempDir, SERVICES_YAML } from './fixture.js';

vi.mock('../../../src/edits/yaml-data.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/edits/yaml-data.js')>();
  return { ...actual, withoutPaths: vi.fn(actual.withoutPaths) };
});
const { withoutPaths } = await import('../../../src/edits/yaml-data.js');

let cleanup = (): void => undefined;
afterEach(() => cleanup());

it('an edit whose re-parsed data is not the expected data is refused and the file is left alone', async () => {
  const tmp = makeTempDir('yaml-verify-');
  cleanup = tmp.cleanup;
  const path = join(tmp.dir, 'external-services.yaml');
  writeFileSync(path, SERVICES_YAML);
  // The first call reduces the original data; pretend the splice also lost another key.
  vi.mocked(withoutPaths).mockImplementationOnce((data) => ({ ...(data as object), extra: 'lost' }));

  const err = await editYamlFile(path, 'config/external-services.yaml', [['services', 'duckdb']]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StepFailedError);
  expect((err as StepFailedError).code).toBe('E_YAML_EDIT');
  expect(readFileSync(path, 'utf8')).toBe(SERVICES_YAML);
});
