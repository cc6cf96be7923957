// Stop strings over streamed text: generation produces text piece by piece, and a stop string may straddle
// pieces, so each check rescans only the tail that could contain a newly completed match.
export class StopMatcher {
  private readonly stops: string[];
  private readonly longest: number;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.longest = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Characters at the end of unfinished text that could still become the start of a stop string. */
  get holdback(): number {
    return Math.max(0, this.longest - 1);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  /**
   * The index in `text` where the earliest stop string starts, considering only matches that end after
   * `previousLength` (i.e. that the newest piece completed), or -1.
   */
  find(text: string, previousLength: number): number {
    if (!this.active) return -1;
    const from = Math.max(0, previousLength - this.longest + 1);
    let best = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s, from);
      if (i !== -1 && (best === -1 || i < best)) best = i;
    }
    return best;
  }
}
