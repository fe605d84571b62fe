/** Services: finding a story's running processes precisely, and stopping them safely. Linux only (/proc). */
export { discoverServices, resolvePidFile, type DiscoverOptions, type DiscoverResult } from './discover.js';
export { stopProcesses, verifyGone, type StopOptions, type StopOutcome } from './stop.js';
export { matchArgv, tokenMatches, isPathToken, type ArgvMatch, type PathElement } from './argv-match.js';
export { listeningPortsOf, listeningSockets, socketInodesOf, parseTcpTable } from './ports.js';
export {
  readProc,
  readStat,
  readArgv,
  readUid,
  readCwd,
  listPids,
  ancestorsOf,
  parseStat,
  parseCmdline,
  startTimeToEpochMs,
  type ProcInfo,
  type ProcStat,
} from './proc-info.js';
export { realpathLoose } from './paths.js';
