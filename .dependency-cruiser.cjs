// The layering of src/, enforced by `npm run lint` (dependency-cruiser): imports point down the
// pipeline only, and nothing imports in a cycle. docs/ARCHITECTURE.md draws the same layers.
// Type-only imports count too: a type is as much a dependency of the design as a value.

/** Lowest first. A module may import its own layer (no cycles) and any layer below it. */
const LAYERS = [
  ["src/types\\.ts", "src/version\\.ts", "src/util/", "src/gguf/"],
  ["src/data/"],
  ["src/protocol/"],
  ["src/config/"],
  ["src/llama/"],
  ["src/providers/"],
  ["src/judge/"],
  ["src/store/"],
  ["src/metrics/"],
  ["src/runner/"],
  ["src/report/", "src/importers/", "src/interop/", "src/reliability/", "src/steering/", "src/organism/"],
  ["src/server/", "src/viewer/", "src/web/"],
  ["src/cli/", "src/index\\.ts"],
];

const alt = (paths) => `^(${paths.join("|")})`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${i}-imports-up`,
  comment: `${layer.join(", ")} may not import a higher layer (${LAYERS.slice(i + 1).flat().join(", ")})`,
  severity: "error",
  from: { path: alt(layer), pathNot: "\\.test\\.ts$" },
  to: { path: alt(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "a cycle makes two modules one module with two names",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    ...upward,
    {
      name: "store-internals-stay-in-the-store",
      comment: "SQL lives in src/store/: its connection and queries are reached through Store methods",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/store/|\\.test\\.ts$" },
      to: { path: "^src/store/(connection\\.ts|queries/)" },
    },
    {
      name: "synthetic-models-are-for-tests-and-the-bench",
      comment: "random-weight GGUFs for tests, npm run bench and scripts/gpu-check (they load it from dist/)",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$|^src/llama/synthetic-model\\.ts$" },
      to: { path: "^src/llama/synthetic-model\\.ts$" },
    },
    {
      name: "only-tests-and-bench-see-test-helpers",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
