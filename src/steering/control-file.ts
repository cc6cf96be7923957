// The random-direction control's file: written beside the vector as `<name>.control-seed<S>.gguf`. It is a
// pure function of the vector and the seed, so it is rewritten only when missing or different, and a resumed
// sweep finds the same bytes (and the same sha256 in its condition descriptions).
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { encodeGguf } from "../gguf/gguf.js";
import { type ControlVector, controlVectorEntries, writeControlVector } from "../gguf/vector-file.js";
import { sha256 } from "../util/hash.js";
import { randomControl } from "./controls.js";
import { fileSha256 } from "./file-hash.js";

export function controlPath(vectorPath: string, seed: number): string {
  const name = basename(vectorPath).replace(/\.gguf$/i, "");
  return join(dirname(vectorPath), `${name}.control-seed${seed}.gguf`);
}

/** Writes (if needed) the control of `vec` and returns its path, sha256 and seed. */
export function writeRandomControl(
  vectorPath: string,
  vec: ControlVector,
  seed: number,
): { vector: string; vectorSha256: string; seed: number } {
  const control = randomControl(vec, seed);
  const path = controlPath(vectorPath, seed);
  const { kv, tensors } = controlVectorEntries(control);
  const want = sha256(Buffer.from(encodeGguf(kv, tensors)));
  if (!existsSync(path) || fileSha256(path) !== want) writeControlVector(path, control);
  return { vector: path, vectorSha256: fileSha256(path), seed };
}
