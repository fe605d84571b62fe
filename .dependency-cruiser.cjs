// The layers of src/, lowest first. A folder may import its own files and the folders of lower layers,
// never a folder of its own layer or above: the arrows point one way, so no two folders import each
// other. Type-only imports count too. `npm test` runs this check (npm run check:layers).
/** @type {string[][]} */
const LAYERS = [
  ['model'], // plan, story, snapshot and registry types, errors, the project layout: imports nothing of ours
  ['util'], // small helpers
  ['config'], // config/rollback.yaml
  ['flags', 'edits', 'backup', 'packages', 'services', 'stories'], // the domain rooms
  ['project'], // the read phase: loading a project and the snapshot of its disk
  ['monitor'], // the threshold monitor: its sources, rules and decisions (acting goes through app/)
  ['steps'], // one module per step kind, and their registry
  ['engine'], // planner, executor, journal, lock, run state: reaches the domain through steps/
  ['report'], // report schema, Markdown, history, audit and run logs
  ['app'], // use-cases: rollback, restore, prune, resume/abort
  ['cli'], // the command line, the only place that exits
];

const forbidden = LAYERS.flatMap((layer, rank) =>
  layer.map((folder) => {
    const allowed = [folder, ...LAYERS.slice(0, rank).flat()];
    return {
      name: `layer-${folder}`,
      comment: `src/${folder}/ may import only its own files and ${allowed.slice(1).join(', ') || 'nothing else of ours'}`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: allowed.map((f) => `^src/${f}/`) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-unknown-folder',
      comment: 'every folder of src/ has a place in the layers above (add a new one there)',
      severity: 'error',
      from: { path: '^src/', pathNot: [`^src/(${LAYERS.flat().join('|')})/`, '^src/index\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|dist-dev|node_modules)/' },
  },
};
