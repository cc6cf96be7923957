// Removing secrets from text that may end up in errors or logs (server error bodies can echo headers).

export const REDACTED = "[REDACTED]";

/** Replaces every occurrence of each secret (ignoring empty and very short ones) with [REDACTED]. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // A 1–3 character "secret" would shred ordinary text and protects nothing.
    if (secret.length < 4) continue;
    out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Header names whose values are treated as secrets. */
export function isSecretHeader(name: string): boolean {
  return /auth|key|token|secret|cookie|password/i.test(name);
}
