import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { parseHfRef, resolveModelFile } from "./model-source.js";

const dir = mkdtempSync(join(tmpdir(), "sb-models-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("model sources", () => {
  it("parses hf: references and rejects malformed ones", () => {
    expect(parseHfRef("hf:org/repo/model-Q8_0.gguf")).toEqual({
      owner: "org",
      repo: "repo",
      file: "model-Q8_0.gguf",
      revision: "main",
    });
    expect(parseHfRef("hf:org/repo/sub/m.gguf@v1")).toMatchObject({ file: "sub/m.gguf", revision: "v1" });
    expect(parseHfRef("./local.gguf")).toBeUndefined();
    expect(() => parseHfRef("hf:org/m.gguf")).toThrow(/hf:OWNER\/REPO\/FILE\.gguf/);
  });

  it("resolves local paths and names a missing file", async () => {
    expect(await resolveModelFile(tinyModel)).toBe(tinyModel);
    await expect(resolveModelFile(join(dir, "missing.gguf"))).rejects.toThrow(/model file not found/);
  });

  it("downloads an hf: reference once into the cache (from a loopback mirror), and reports HTTP errors", async () => {
    const bytes = readFileSync(tinyModel);
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === "/org/repo/resolve/main/tiny.gguf") {
        res.writeHead(200, { "content-length": bytes.length });
        res.end(bytes);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const path = await resolveModelFile("hf:org/repo/tiny.gguf", { cacheDir: dir, endpoint });
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(existsSync(`${path}.partial`)).toBe(false);
      await resolveModelFile("hf:org/repo/tiny.gguf", { cacheDir: dir, endpoint });
      expect(hits).toBe(1); // cached
      await expect(resolveModelFile("hf:org/repo/none.gguf", { cacheDir: dir, endpoint })).rejects.toThrow(
        /HTTP 404/,
      );
    } finally {
      server.close();
    }
  });
});
