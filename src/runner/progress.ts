// Progress for long work: a bar on a TTY, plain lines otherwise (CI logs, pipes).
import cliProgress from "cli-progress";

export interface ProgressState {
  done: number;
  total: number;
  errors: number;
}

export interface ProgressReporter {
  start(total: number, done: number): void;
  update(state: ProgressState): void;
  /** A log line that must not land inside the bar: cleared, written above it, bar redrawn. */
  log?(line: string): void;
  stop(): void;
}

export function createProgress(opts: {
  label: string;
  stream?: NodeJS.WriteStream;
  /** Plain mode: print a line at most this often. */
  intervalMs?: number;
  quiet?: boolean;
}): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { start() {}, update() {}, log() {}, stop() {} };
  if (stream.isTTY) return barReporter(opts.label, stream);
  return lineReporter(opts.label, stream, opts.intervalMs ?? 5000);
}

function barReporter(label: string, stream: NodeJS.WriteStream): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {value}/{total} items | {errors} errors | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let startedAt = Date.now();
  let startDone = 0;
  let active = false;
  return {
    start(total, done) {
      startedAt = Date.now();
      startDone = done;
      active = true;
      bar.start(total, done, { errors: 0, rate: "0.0" });
    },
    log(line) {
      if (!active) {
        stream.write(`${line}\n`);
        return;
      }
      stream.clearLine(0);
      stream.cursorTo(0);
      stream.write(`${line}\n`);
      bar.render();
    },
    update({ done, total, errors }) {
      const secs = Math.max((Date.now() - startedAt) / 1000, 1e-3);
      bar.setTotal(total);
      bar.update(done, { errors, rate: ((done - startDone) / secs).toFixed(1) });
    },
    stop() {
      if (!active) return;
      active = false;
      bar.stop();
    },
  };
}

function lineReporter(label: string, stream: NodeJS.WriteStream, intervalMs: number): ProgressReporter {
  let last = 0;
  let startedAt = Date.now();
  let startDone = 0;
  let state: ProgressState = { done: 0, total: 0, errors: 0 };
  const print = () => {
    const secs = Math.max((Date.now() - startedAt) / 1000, 1e-3);
    const rate = (state.done - startDone) / secs;
    const eta = rate > 0 ? Math.round((state.total - state.done) / rate) : undefined;
    stream.write(
      `${label}: ${state.done}/${state.total} items, ${state.errors} errors, ${rate.toFixed(1)}/s${
        eta === undefined ? "" : `, ETA ${eta}s`
      }\n`,
    );
  };
  return {
    start(total, done) {
      startedAt = Date.now();
      startDone = done;
      state = { done, total, errors: 0 };
      print();
      last = Date.now();
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    update(next) {
      state = next;
      if (Date.now() - last >= intervalMs) {
        last = Date.now();
        print();
      }
    },
    stop() {
      print();
    },
  };
}
