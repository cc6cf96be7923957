// Where a request's `steering.vector` may point. A request is untrusted input: by default it can only name a
// file inside the server's `--vectors DIR` (also through a symlink, as long as the target stays inside), and
// an absolute path is refused unless the operator started the server with `--allow-vector-paths`. Only
// regular files under a size limit are accepted, and every check runs through async fs calls on the libuv
// pool (O_NONBLOCK, so a FIFO can never hang an open). Errors say what is wrong without any file content.
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { RequestError } from "./openai-request.js";

/** Control vectors are n_layer × n_embd floats: 64 MiB holds a 128-layer × 16k model's vector four times. */
export const DEFAULT_MAX_VECTOR_BYTES = 64 * 1024 * 1024;
const GGUF_MAGIC = Buffer.from("GGUF", "latin1");

export interface VectorPolicy {
  /** Directory of named vectors (`"vector": "ic"` → DIR/ic.gguf or DIR/ic). */
  dir?: string;
  /** Accept absolute paths anywhere on disk (the operator's explicit choice). */
  allowPaths?: boolean;
  maxBytes?: number;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

async function regularFile(path: string, label: string, maxBytes: number): Promise<"missing" | "ok"> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw new RequestError(
      400,
      `steering.vector ${label}: cannot be opened (${code ?? "error"})`,
      "steering.vector",
    );
  }
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new RequestError(400, `steering.vector ${label}: not a regular file`, "steering.vector");
    if (st.size > maxBytes)
      throw new RequestError(
        400,
        `steering.vector ${label}: ${st.size} bytes is over the server's limit of ${maxBytes}`,
        "steering.vector",
      );
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4 || !head.equals(GGUF_MAGIC))
      throw new RequestError(
        400,
        `steering.vector ${label}: not a GGUF control-vector file`,
        "steering.vector",
      );
    return "ok";
  } finally {
    await handle.close();
  }
}

/**
 * The absolute path a request's `steering.vector` names, after every check; throws RequestError (400 for a
 * refused or unusable path, 404 for a name that is not there).
 */
export async function resolveRequestVector(vector: string, policy: VectorPolicy): Promise<string> {
  const label = JSON.stringify(vector);
  const maxBytes = policy.maxBytes ?? DEFAULT_MAX_VECTOR_BYTES;
  if (vector.includes("\0"))
    throw new RequestError(400, "steering.vector: contains a NUL byte", "steering.vector");
  if (isAbsolute(vector)) {
    if (!policy.allowPaths)
      throw new RequestError(
        400,
        `steering.vector ${label}: absolute paths are refused (name a vector in the server's --vectors DIR, or start serve with --allow-vector-paths)`,
        "steering.vector",
      );
    const state = await regularFile(vector, label, maxBytes);
    if (state === "missing")
      throw new RequestError(404, `steering.vector ${label}: no such file`, "steering.vector");
    return vector;
  }
  if (!policy.dir)
    throw new RequestError(
      400,
      `steering.vector ${label}: the server has no --vectors DIR to look names up in`,
      "steering.vector",
    );
  const root = await realpath(policy.dir);
  const candidates = vector.endsWith(".gguf") ? [vector] : [`${vector}.gguf`, vector];
  for (const name of candidates) {
    const lexical = resolve(root, name);
    if (!inside(root, lexical))
      throw new RequestError(
        400,
        `steering.vector ${label}: names a file outside --vectors DIR`,
        "steering.vector",
      );
    let real: string;
    try {
      real = await realpath(lexical);
    } catch {
      continue; // missing (or a dangling link): try the next spelling
    }
    if (!inside(root, real))
      throw new RequestError(400, `steering.vector ${label}: links outside --vectors DIR`, "steering.vector");
    if ((await regularFile(real, label, maxBytes)) === "ok") return real;
  }
  throw new RequestError(
    404,
    `steering.vector ${label}: no such vector in --vectors DIR (looked for ${candidates.map((c) => join(".", c)).join(", ")})`,
    "steering.vector",
  );
}
