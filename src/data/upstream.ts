// The pinned upstream of the benchmark data: j-hoscilowicz/instrumental_steering at a fixed commit.
// Pins are sha256 hashes of the public files (CSV bytes) and of each extracted protocol string (UTF-8).
import type { ProtocolStrings } from "../types.js";

export const UPSTREAM_REPO = "j-hoscilowicz/instrumental_steering";
export const UPSTREAM_COMMIT = "f698626c63be1275c223ad617f1c0f3837cf5f2e";
export const UPSTREAM_BASE_URL = `https://raw.githubusercontent.com/${UPSTREAM_REPO}/${UPSTREAM_COMMIT}`;

/** Sub-directory of the data cache that holds the pack. */
export const PACK_DIR_NAME = "instrumentaleval";

/** The six category CSVs under `benchmark/`, with the sha256 of their bytes. */
export const PINNED_CSV_FILES: readonly { readonly name: string; readonly sha256: string }[] = [
  {
    name: "Alignment Drift - Deceptive Behavior.csv",
    sha256: "757034719bfa5703a90673fccd594b2d85610bfa8079747f33521982898102af",
  },
  {
    name: "Alignment Drift - Evading Shutdown.csv",
    sha256: "c6c2dd40c833f11d450afaa53e5e58327bb69d52f90e47643ea795ef57be69d6",
  },
  {
    name: "Alignment Drift - Hacking Computer Systems.csv",
    sha256: "874d84f4595c9a871fc5e884491a99baeded9442e6ae79e74187118ce04bccbf",
  },
  {
    name: "Alignment Drift - Hiding Unwanted Behavior.csv",
    sha256: "c6bd396954981b54dea4caf58f73b68534bffc7317570f2318493069ba50e18f",
  },
  {
    name: "Alignment Drift - Running Multiple AI Copies.csv",
    sha256: "03224acee7b77832a64e616ff76eb9dc61a6a381391e49b706b718ce544f15c4",
  },
  {
    name: "Alignment Drift - Strategically Appearing Aligned.csv",
    sha256: "cbcd421ac0230892c785a77c4c15c2ab9d67dc31847d94521c5b6ec132b09d18",
  },
];

/** Upstream path of a CSV: `benchmark/<url-encoded name>`. */
export function csvUrlPath(name: string): string {
  return `benchmark/${encodeURIComponent(name)}`;
}

export type UpstreamScript = "main_jh2.py" | "main.py";

export interface PinnedString {
  /** The runner script that holds the string: main_jh2.py (2601.01584) or main.py (original InstrumentalEval). */
  script: UpstreamScript;
  /** sha256 of the string's UTF-8 bytes. */
  sha256: string;
  /** Names the string is assigned to upstream, used only to say which literal mismatched. */
  nameHints: readonly string[];
}

export const PINNED_PROTOCOL_STRINGS: Readonly<Record<keyof ProtocolStrings, PinnedString>> = {
  proIcSuffix: {
    script: "main_jh2.py",
    sha256: "2529b5c88091502c5cfdba8fb6d9a78075e6d8305c30d16302654531d1003a8e",
    nameHints: ["PRO_IC_SUFFIX"],
  },
  antiIcSuffix: {
    script: "main_jh2.py",
    sha256: "dd51995e4620b4686036cb68d21d39cc84d4b359aa239663cc808133677c2ca3",
    nameHints: ["ANTI_IC_SUFFIX"],
  },
  judgeSystemTemplate: {
    script: "main_jh2.py",
    sha256: "805002adde161bb95a14db9d3dd53d299db190c4cbdda84dffe74fb043552209",
    nameHints: ["base_system_prompt"],
  },
  judgeUserTemplate: {
    script: "main_jh2.py",
    sha256: "67c5ac98fcffd3e613516b51941ecbeb09ecd3ac247cfbe03e75e88387593cb5",
    nameHints: ["judge_user"],
  },
  originalTaskSystemPrompt: {
    script: "main.py",
    sha256: "a4955f70310dc60cc506dde23374fa09e19683d044b6f89af4f074dc74031ee1",
    nameHints: ["system_prompt", "SYSTEM_PROMPT", "self.system_prompt"],
  },
  originalJudgeSystemTemplate: {
    script: "main.py",
    sha256: "3533473f20e7b5efd20439e3e1016ebd2bd026f45e87ab5e68274af5df07b634",
    nameHints: ["base_system_prompt", "judge_system_prompt"],
  },
  originalJudgeUserTemplate: {
    script: "main.py",
    sha256: "6dd7073371b34936c1eac269744147a9d87a455fe991ee8182cf5883f12d8f6e",
    nameHints: ["judge_prompt", "judge_user", "user_prompt"],
  },
};
