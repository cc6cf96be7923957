// Python's str.strip()/rstrip() without arguments. JavaScript's trim() uses a different whitespace set
// (it strips U+FEFF, and keeps U+001C–U+001F and U+0085), so prompts built with it would not match the
// paper's bytes. This is exactly the set for which CPython's str.isspace() is true.
const PY_WHITESPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** True when `ch` (one UTF-16 code unit) is whitespace for Python's str.isspace(). All are in the BMP. */
export function isPyWhitespace(ch: string): boolean {
  return ch.length === 1 && PY_WHITESPACE.has(ch.charCodeAt(0));
}

/** Python `s.rstrip()`. */
export function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && PY_WHITESPACE.has(s.charCodeAt(end - 1))) end--;
  return s.slice(0, end);
}

/** Python `s.lstrip()`. */
export function pyLstrip(s: string): string {
  let start = 0;
  while (start < s.length && PY_WHITESPACE.has(s.charCodeAt(start))) start++;
  return s.slice(start);
}

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return pyLstrip(pyRstrip(s));
}
