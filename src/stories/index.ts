import type { StoryPlugin } from '../model/plugin-types.js';
import type { Story } from '../model/types.js';
import { storyFromPlugin } from './from-plugin.js';
import pyairbyte from './1.2-pyairbyte.js';
import duckdb from './1.3-duckdb.js';
import dbt from './1.4-dbt.js';
import dagster from './1.5-dagster.js';
import eda from './1.6-eda.js';
import evidence from './1.7-evidence.js';
import qa from './1.8-qa.js';

/** The seven stories of the Data Practitioner pack, as it really shipped them: plugins bundled with the tool. */
export const BUILTIN_PLUGINS: readonly StoryPlugin[] = [pyairbyte, duckdb, dbt, dagster, eda, evidence, qa];

/** The built-in plugins as stories. */
export const BUILTIN_STORIES: readonly Story[] = BUILTIN_PLUGINS.map((p) => storyFromPlugin(p, null));
