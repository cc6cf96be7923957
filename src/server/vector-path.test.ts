import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestError } from "./openai-request.js";
import { resolveRequestVector } from "./vector-path.js";

let root: string;
let dir: string;
const gguf = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(60)]);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "sb-vecpath-"));
  dir = join(root, "vectors");
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "ic.gguf"), gguf);
  writeFileSync(join(dir, "sub", "deep.gguf"), gguf);
  writeFileSync(join(dir, "big.gguf"), Buffer.concat([gguf, Buffer.alloc(2000)]));
  writeFileSync(join(dir, "text.gguf"), "SECRET-CONTENT line one\n");
  writeFileSync(join(root, "outside.gguf"), gguf);
  symlinkSync(join(root, "outside.gguf"), join(dir, "escape.gguf"));
  symlinkSync(join(dir, "ic.gguf"), join(dir, "alias.gguf"));
  mkdirSync(join(dir, "folder.gguf"));
  execFileSync("mkfifo", [join(dir, "fifo.gguf")]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function refused(vector: string, policy: Parameters<typeof resolveRequestVector>[1]) {
  try {
    await resolveRequestVector(vector, policy);
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    const e = err as RequestError;
    expect(e.message).not.toMatch(/SECRET|root:/); // never any file content
    return e;
  }
  throw new Error(`${vector} was accepted`);
}

describe("resolveRequestVector", () => {
  it("resolves names and relative paths inside --vectors DIR, links included while they stay inside", async () => {
    expect(await resolveRequestVector("ic", { dir })).toMatch(/vectors\/ic\.gguf$/);
    expect(await resolveRequestVector("ic.gguf", { dir })).toMatch(/vectors\/ic\.gguf$/);
    expect(await resolveRequestVector("sub/deep", { dir })).toMatch(/sub\/deep\.gguf$/);
    expect(await resolveRequestVector("alias", { dir })).toMatch(/vectors\/ic\.gguf$/);
  });

  it("refuses absolute paths unless allowed, and anything that leaves DIR", async () => {
    const abs = await refused("/etc/passwd", { dir });
    expect(abs.status).toBe(400);
    expect(abs.message).toMatch(/--allow-vector-paths/);
    expect((await refused("../outside", { dir })).message).toMatch(/outside --vectors DIR/);
    expect((await refused("escape", { dir })).message).toMatch(/links outside/);
    expect((await refused("ic", {})).message).toMatch(/no --vectors DIR/);
  });

  it("opens only regular GGUF files under the size limit, without ever blocking on a FIFO", async () => {
    expect((await refused("fifo", { dir })).message).toMatch(/not a regular file/);
    expect((await refused("folder", { dir })).message).toMatch(/not a regular file/);
    expect((await refused("text", { dir })).message).toMatch(/not a GGUF/);
    expect((await refused("big", { dir, maxBytes: 1000 })).message).toMatch(
      /over the server's limit of 1000/,
    );
    const etc = await refused("/etc/passwd", { allowPaths: true });
    expect(etc.message).toMatch(/not a GGUF/);
    expect(await resolveRequestVector(join(root, "outside.gguf"), { allowPaths: true })).toBe(
      join(root, "outside.gguf"),
    );
  });

  it("answers 404 for a name that is not there", async () => {
    const e = await refused("nope", { dir });
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/no such vector/);
    expect((await refused("/nonexistent.gguf", { allowPaths: true })).status).toBe(404);
  });
});
