// Splitting a thinking model's output into reasoning and final answer, exactly as the 2601.01584 runner
// (`main_jh2.py`, HFQwenRunner.generate) does it:
//   split at the LAST `</think>`; thinking = decode(before).strip(); content = decode(after).strip()
// and, without any `</think>`, content = whole output .strip(), thinking = None.
// Python's str.strip() removes both ends (not only leading whitespace), over Python's whitespace set,
// which differs from JS String.prototype.trim() (Python strips \x1c-\x1f and \x85; JS strips \ufeff).
// Differences from the paper, on purpose: the paper's logged thinking still ends in the `</think>` text
// (the tag is not a special token); ours excludes the tag, and drops one leading `<think>` tag too.

import { pyStrip } from "../util/pystr.js";

export { pyStrip };

export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export interface ThinkingSplit {
  /** Text before the last `</think>` (one leading `<think>` removed), stripped; undefined without `</think>`. */
  thinking: string | undefined;
  /** Text after the last `</think>`, stripped; the whole text stripped when there is no `</think>`. */
  response: string;
}

export function splitThinking(text: string): ThinkingSplit {
  const at = text.lastIndexOf(THINK_CLOSE);
  if (at < 0) return { thinking: undefined, response: pyStrip(text) };
  let before = pyStrip(text.slice(0, at));
  if (before.startsWith(THINK_OPEN)) before = pyStrip(before.slice(THINK_OPEN.length));
  return { thinking: before, response: pyStrip(text.slice(at + THINK_CLOSE.length)) };
}
