// Safe embedding of data and code in one HTML file.
import { createHash } from "node:crypto";

/**
 * JSON for a `<script type="application/json">` element. `<`, `>` and `&` become \u escapes, so no
 * response text can close the element (`</script>`) or open a comment (`<!--`), and U+2028/U+2029 are
 * escaped so the text is also a valid JavaScript literal. JSON.parse reads the escapes back unchanged.
 */
export function jsonForScript(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("jsonForScript: value is not JSON-serialisable");
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A CSP source expression for an inline element's exact text: 'sha256-<base64>'. */
export function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}
