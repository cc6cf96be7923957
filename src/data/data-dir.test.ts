import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDir, packDir } from "../../test/paths.js";
import { DataDirError, defaultDataDir, resolveDataDir } from "./data-dir.js";

const tmp = mkdtempSync(join(tmpdir(), "steerbench-datadir-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("resolveDataDir", () => {
  it("uses <dir>/instrumentaleval when it exists (the shared data folder)", () => {
    expect(resolveDataDir({ flag: dataDir, env: {} })).toBe(packDir);
  });

  it("uses <dir> itself when it holds the CSVs", () => {
    expect(resolveDataDir({ flag: packDir, env: {} })).toBe(packDir);
  });

  it("prefers the flag over STEERBENCH_DATA over the default", () => {
    const flat = join(tmp, "flat");
    mkdirSync(flat);
    writeFileSync(join(flat, "a.csv"), "ctx\ntask\n");
    expect(resolveDataDir({ flag: flat, env: { STEERBENCH_DATA: dataDir } })).toBe(flat);
    expect(resolveDataDir({ env: { STEERBENCH_DATA: dataDir }, defaultDir: flat })).toBe(packDir);
    expect(resolveDataDir({ env: {}, defaultDir: flat })).toBe(flat);
    expect(resolveDataDir({ flag: "", env: { STEERBENCH_DATA: "" }, defaultDir: flat })).toBe(flat);
  });

  it("tells the user to run `steerbench data pull` or pass --data when nothing is there", () => {
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    for (const [opts, from] of [
      [{ flag: empty, env: {} }, "--data"],
      [{ env: { STEERBENCH_DATA: join(tmp, "missing") } }, "STEERBENCH_DATA"],
      [{ env: {}, defaultDir: join(tmp, "no-cache") }, "default data cache"],
    ] as const) {
      let err: unknown;
      try {
        resolveDataDir(opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataDirError);
      const message = (err as Error).message;
      expect(message).toContain("steerbench data pull");
      expect(message).toContain("--data DIR");
      expect(message).toContain(from);
    }
  });

  it("defaults to ~/.cache/steerbench/data, or under XDG_CACHE_HOME", () => {
    expect(defaultDataDir({})).toBe(join(homedir(), ".cache", "steerbench", "data"));
    expect(defaultDataDir({ XDG_CACHE_HOME: "/x/cache" })).toBe(join("/x/cache", "steerbench", "data"));
  });
});
