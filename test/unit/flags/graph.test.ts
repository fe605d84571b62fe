import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import {
  applyFlagChanges,
  dependentsOf,
  effectiveStates,
  isEffective,
  parseFlags,
  planDisable,
  planEnable,
  topoOrder,
} from '../../../src/flags/index.js';
import { DISPLAY, packFlagsText, thrown, withEnabled } from './fixture.js';

const DUCKDB_DEPENDENTS = [
  'dbt_transformations',
  'dagster_orchestration',
  'eda_automation',
  'evidence_publishing',
  'sqlmesh_transformations',
];

function packWith(enabled: string[], disabled: string[] = []) {
  return parseFlags(withEnabled(withEnabled(packFlagsText(), enabled, true), disabled, false), DISPLAY);
}

describe('effective state', () => {
  it('a feature is off when a dependency is off, even if its own flag is on', () => {
    const doc = packWith(['dbt_transformations']); // duckdb_analytics stays false
    expect(doc.features.get('dbt_transformations')?.enabled).toBe(true);
    expect(isEffective(doc, 'dbt_transformations')).toBe(false);
    expect(isEffective(doc, 'pyairbyte_integration')).toBe(true);
  });

  it('turns on once every dependency is effectively on', () => {
    const doc = packWith(['duckdb_analytics', 'dbt_transformations']);
    expect(isEffective(doc, 'dbt_transformations')).toBe(true);
  });

  it('follows dependencies transitively', () => {
    // evidence needs duckdb and dbt; dbt is on but its own dependency duckdb is off.
    const doc = packWith(['dbt_transformations', 'evidence_publishing']);
    const states = effectiveStates(doc);
    expect(states.get('evidence_publishing')).toBe(false);
    expect(states.get('dbt_transformations')).toBe(false);
    expect([...states.keys()]).toEqual([...doc.features.keys()]);
  });

  it('one off dependency among several is enough to turn a feature off', () => {
    const doc = packWith(['duckdb_analytics', 'dagster_orchestration'], ['pyairbyte_integration']);
    expect(isEffective(doc, 'dagster_orchestration')).toBe(false);
  });

  it('rejects an unknown feature', () => {
    const err = thrown(() => isEffective(packWith([]), 'nope'));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('E_UNKNOWN_FEATURE');
  });
});

describe('dependentsOf', () => {
  it('lists direct and transitive dependents, enabled or not, in dependency order', () => {
    const doc = packWith([]);
    expect(dependentsOf(doc, 'duckdb_analytics')).toEqual(DUCKDB_DEPENDENTS);
    expect(dependentsOf(doc, 'dbt_transformations')).toEqual(['evidence_publishing']);
    expect(dependentsOf(doc, 'pyairbyte_integration')).toEqual(['dagster_orchestration']);
    expect(dependentsOf(doc, 'automated_eda')).toEqual([]);
  });

  it('finds dependents only reachable through another dependent', () => {
    const doc = parseFlags(
      'features:\n  c:\n    enabled: true\n    dependencies: [b]\n  a:\n    enabled: true\n  b:\n    enabled: false\n    dependencies: [a]\n',
      DISPLAY,
    );
    expect(dependentsOf(doc, 'a')).toEqual(['b', 'c']);
  });
});

describe('planDisable', () => {
  it('disabling duckdb_analytics cascades to exactly the enabled dependents, with the why', () => {
    const doc = packWith(['duckdb_analytics', ...DUCKDB_DEPENDENTS]);
    expect(planDisable(doc, ['duckdb_analytics'])).toEqual([
      { feature: 'duckdb_analytics', from: true, to: false, why: 'rolled back' },
      { feature: 'dbt_transformations', from: true, to: false, why: 'depends on duckdb_analytics' },
      { feature: 'dagster_orchestration', from: true, to: false, why: 'depends on duckdb_analytics' },
      { feature: 'eda_automation', from: true, to: false, why: 'depends on duckdb_analytics' },
      { feature: 'evidence_publishing', from: true, to: false, why: 'depends on duckdb_analytics' },
      { feature: 'sqlmesh_transformations', from: true, to: false, why: 'depends on duckdb_analytics' },
    ]);
  });

  it('leaves disabled dependents and unrelated features out', () => {
    const doc = packWith(['duckdb_analytics', 'dbt_transformations', 'evidence_publishing']);
    const changes = planDisable(doc, ['duckdb_analytics']);
    expect(changes.map((c) => c.feature)).toEqual(['duckdb_analytics', 'dbt_transformations', 'evidence_publishing']);
    expect(changes.every((c) => c.from && !c.to)).toBe(true);
  });

  it('names the nearest dependency being turned off', () => {
    const doc = packWith(['duckdb_analytics', 'dbt_transformations', 'evidence_publishing']);
    const why = new Map(planDisable(doc, ['dbt_transformations']).map((c) => [c.feature, c.why]));
    expect(why).toEqual(
      new Map([
        ['dbt_transformations', 'rolled back'],
        ['evidence_publishing', 'depends on dbt_transformations'],
      ]),
    );
  });

  it('an already-disabled requested feature changes nothing itself but still turns off enabled dependents', () => {
    const doc = packWith(['sqlmesh_transformations']); // duckdb_analytics is false in the pack file
    expect(planDisable(doc, ['duckdb_analytics'])).toEqual([
      { feature: 'sqlmesh_transformations', from: true, to: false, why: 'depends on duckdb_analytics' },
    ]);
    expect(planDisable(packWith([]), ['duckdb_analytics'])).toEqual([]);
  });

  it('a feature both requested and a dependent appears once, as requested', () => {
    const doc = packWith(['duckdb_analytics', 'dbt_transformations', 'evidence_publishing']);
    const changes = planDisable(doc, ['evidence_publishing', 'duckdb_analytics', 'duckdb_analytics']);
    expect(changes).toEqual([
      { feature: 'evidence_publishing', from: true, to: false, why: 'rolled back' },
      { feature: 'duckdb_analytics', from: true, to: false, why: 'rolled back' },
      { feature: 'dbt_transformations', from: true, to: false, why: 'depends on duckdb_analytics' },
    ]);
  });

  it('reaches enabled dependents through a feature that is already off', () => {
    const doc = parseFlags(
      'features:\n  a:\n    enabled: true\n  b:\n    enabled: false\n    dependencies: [a]\n  c:\n    enabled: true\n    dependencies: [b]\n',
      DISPLAY,
    );
    expect(planDisable(doc, ['a'])).toEqual([
      { feature: 'a', from: true, to: false, why: 'rolled back' },
      { feature: 'c', from: true, to: false, why: 'depends on a' },
    ]);
  });

  it('rejects an unknown feature', () => {
    const err = thrown(() => planDisable(packWith([]), ['duckdb_analytic']));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).message).toContain('no feature named "duckdb_analytic"');
  });
});

describe('topoOrder', () => {
  // File order zulu, mike, alpha; zulu needs mike. Neither file order nor a string sort is right.
  const doc = parseFlags(
    'features:\n  zulu:\n    enabled: true\n    dependencies: [mike]\n  mike:\n    enabled: true\n  alpha:\n    enabled: true\n',
    DISPLAY,
  );

  it('puts dependencies first and otherwise keeps file order', () => {
    expect(topoOrder(doc, ['alpha', 'zulu', 'mike'])).toEqual(['mike', 'zulu', 'alpha']);
  });

  it('respects dependencies through features not in the list', () => {
    const chain = parseFlags(
      'features:\n  x:\n    enabled: true\n    dependencies: [y]\n  y:\n    enabled: true\n    dependencies: [w]\n  w:\n    enabled: true\n',
      DISPLAY,
    );
    expect(topoOrder(chain, ['x', 'w'])).toEqual(['w', 'x']);
  });

  it('drops duplicates', () => {
    expect(topoOrder(doc, ['zulu', 'zulu'])).toEqual(['zulu']);
  });
});

describe('planEnable', () => {
  it('restores exactly the disabled features, dependencies first', () => {
    const before = packWith(['duckdb_analytics', 'dbt_transformations', 'evidence_publishing']);
    const disable = planDisable(before, ['evidence_publishing', 'duckdb_analytics']);
    const after = parseFlags(applyFlagChanges(before, disable, new Date('2026-01-02T03:04:05.678Z')), DISPLAY);

    const enable = planEnable(after, disable);
    expect(enable).toEqual([
      { feature: 'duckdb_analytics', from: false, to: true, why: 'restored' },
      { feature: 'dbt_transformations', from: false, to: true, why: 'restored' },
      { feature: 'evidence_publishing', from: false, to: true, why: 'restored' },
    ]);
    const restored = parseFlags(applyFlagChanges(after, enable, new Date()), DISPLAY);
    expect(effectiveStates(restored)).toEqual(effectiveStates(before));
  });

  it('skips features already back at their original value', () => {
    const doc = packWith(['duckdb_analytics']);
    const changes = [
      { feature: 'duckdb_analytics', from: true, to: false, why: 'rolled back' },
      { feature: 'dbt_transformations', from: true, to: false, why: 'depends on duckdb_analytics' },
    ];
    expect(planEnable(doc, changes)).toEqual([
      { feature: 'dbt_transformations', from: false, to: true, why: 'restored' },
    ]);
  });
});
