/** Python packages of the project's own venv: find it, list a distribution's files, uninstall with its pip. */
export { findVenv, isWithin, toRootRel, type VenvInfo } from './python-venv.js';
export { findDistribution, normaliseDistName, type DistInfo } from './python-dist.js';
export { uninstallDistributions, type UninstallOptions, type UninstallResult } from './python-uninstall.js';
export { parseRecord, parseEntryPointScripts } from './python-record.js';
