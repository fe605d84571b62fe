/**
 * A rollback's choice about the stories' data (`--keep-data`, `--purge-data`) applied to what is on disk, before
 * planning: the plan then carries the decision path by path, so that a resume never changes it.
 */
import type { DataChoice, PlannedPath } from '../model/types.js';
import type { Snapshot } from '../model/snapshot.js';

/** Why a data path stays when only `--keep-data` keeps it. */
const KEEP_DATA_WHY = 'every data path kept in place, as the run was asked';

/**
 * The snapshot with each data path marked as the choice says: `keep` marks every data path kept (a path its
 * story keeps anyway keeps the story's why); `purge` marks none, so those the stories keep count as installed
 * and are removed (after their backup), even when nothing else of the story is left. Without a choice: as is.
 */
export function applyDataChoice(snapshot: Snapshot, choice: DataChoice | undefined): Snapshot {
  if (choice === undefined) return snapshot;
  const mark = (p: PlannedPath): PlannedPath => {
    const { kept, ...rest } = p;
    if (choice === 'purge' || p.category !== 'data') return rest;
    return { ...rest, kept: kept ?? { why: KEEP_DATA_WHY, by: 'keep-data' } };
  };
  const stories = new Map([...snapshot.stories].map(([id, s]) => [id, { ...s, paths: s.paths.map(mark) }]));
  return { ...snapshot, stories };
}
