// Builds the benchmark: bench/*.ts (and the test helpers they use) bundled into bench/dist/, while every
// import of src/ is pointed at the compiled dist/ of `npm run build` — the benchmark measures the
// package as built, not a second compilation of it.
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, "..");
const srcDir = join(root, "src");
const distDir = join(root, "dist");
const outDir = join(benchDir, "dist");

const srcToDist = {
  name: "src-to-dist",
  setup(b) {
    b.onResolve({ filter: /(^|\/)src\// }, (args) => {
      const abs = resolve(args.resolveDir, args.path);
      if (!abs.startsWith(`${srcDir}/`)) return undefined;
      const target = join(distDir, relative(srcDir, abs));
      return { path: `./${relative(outDir, target)}`, external: true };
    });
  },
};

await build({
  entryPoints: ["run.ts", "harness.ts", "server.ts"].map((f) => join(benchDir, f)),
  outdir: outDir,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
  plugins: [srcToDist],
});
