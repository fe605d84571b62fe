/**
 * Stand-in wheels for the Python distributions of the pack: one tiny pure-Python wheel per name, built
 * offline by {@link WHEEL_SCRIPT} and kept in `<tmpdir>/rm-sandbox-wheels-<hash>/` for every later sandbox.
 */
import { execa } from 'execa';
import { InvalidInputError, StepFailedError } from '../../src/model/errors.js';
import { pythonEnv } from './child-env.js';
import { cachedDir, contentHash, type CachedDir } from './dir-cache.js';
import { WHEEL_SCRIPT } from './wheel-script.js';

/** One distribution: how its METADATA spells it, its version, and the console scripts it installs. */
interface DistSpec {
  display: string;
  version: string;
  scripts?: string[];
}

/**
 * The pack's distributions with the spelling and a version PyPI has, so a tool that compares names must
 * normalise them (PEP 503) as pip does. Console scripts where the real ones have them: pip writes
 * `bin/<script>` at install and removes it at uninstall, and a rollback must account for it.
 */
const DISTS: Readonly<Record<string, DistSpec>> = {
  airbyte: { display: 'airbyte', version: '0.20.0' },
  pandas: { display: 'pandas', version: '2.2.3' },
  numpy: { display: 'numpy', version: '1.26.4' },
  sqlalchemy: { display: 'SQLAlchemy', version: '2.0.36' },
  pyyaml: { display: 'PyYAML', version: '6.0.2' },
  duckdb: { display: 'duckdb', version: '1.1.3' },
  'psycopg2-binary': { display: 'psycopg2-binary', version: '2.9.10' },
  pymysql: { display: 'PyMySQL', version: '1.1.1' },
  openpyxl: { display: 'openpyxl', version: '3.1.5' },
  xlrd: { display: 'xlrd', version: '2.0.1' },
  pyarrow: { display: 'pyarrow', version: '18.1.0' },
  'python-dotenv': { display: 'python-dotenv', version: '1.0.1', scripts: ['dotenv'] },
  'dbt-core': { display: 'dbt-core', version: '1.8.8', scripts: ['dbt'] },
  'dbt-duckdb': { display: 'dbt-duckdb', version: '1.9.1' },
  dagster: { display: 'dagster', version: '1.9.5', scripts: ['dagster', 'dagster-daemon'] },
  'dagster-webserver': { display: 'dagster-webserver', version: '1.9.5', scripts: ['dagster-webserver'] },
  'dagster-postgres': { display: 'dagster-postgres', version: '0.25.5' },
  'dagster-docker': { display: 'dagster-docker', version: '0.25.5' },
  'ydata-profiling': { display: 'ydata-profiling', version: '4.12.1' },
  sweetviz: { display: 'sweetviz', version: '2.3.1' },
  autoviz: { display: 'autoviz', version: '0.1.905' },
  scipy: { display: 'scipy', version: '1.14.1' },
  'scikit-learn': { display: 'scikit-learn', version: '1.5.2' },
  statsmodels: { display: 'statsmodels', version: '0.14.4' },
};

/** PEP 508 names; anything else would reach pip as an option or a path, or a wheel name pip rejects. */
const DIST_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** PEP 503 normalisation: `PyYAML` = `pyyaml`, `python_dotenv` = `python-dotenv`. */
export function normaliseDist(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The version the stand-in of `name` has (a name the catalogue does not know gets 1.0.0). */
export function distVersion(name: string): string {
  return DISTS[normaliseDist(name)]?.version ?? '1.0.0';
}

/** Wheels for `names`, built once per content: `files` maps each name as given to its wheel in `dir`. */
export function buildWheels(names: readonly string[]): Promise<CachedDir> {
  const specs = names.map((key) => {
    if (!DIST_NAME.test(key)) throw new InvalidInputError(`python: "${key}" is not a distribution name`, { code: 'E_PYTHON_NAME' });
    const known = DISTS[normaliseDist(key)];
    return {
      key,
      name: known?.display ?? key,
      // The package directory is the normalised name with `-` → `_`: importable, and unique per distribution.
      module: normaliseDist(key).replace(/-/g, '_'),
      version: known?.version ?? '1.0.0',
      scripts: known?.scripts ?? [],
    };
  });
  return cachedDir('rm-sandbox-wheels', contentHash(WHEEL_SCRIPT, JSON.stringify(specs)), async (dir) => {
    const run = await execa('python3', ['-c', WHEEL_SCRIPT, dir], {
      env: pythonEnv(),
      extendEnv: false,
      input: JSON.stringify(specs),
      timeout: 60_000,
    }).catch((err: unknown) => {
      throw new StepFailedError(`sandbox: building the stand-in wheels with python3 failed: ${String(err)}`, { cause: err });
    });
    return JSON.parse(run.stdout) as Record<string, string>;
  });
}
