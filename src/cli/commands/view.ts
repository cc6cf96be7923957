import type { Command } from "commander";
import { Store } from "../../store/store.js";
import { startViewer } from "../../viewer/server.js";
import { parseIntOption, storeOption, UsageError } from "../options.js";

export const DEFAULT_VIEW_PORT = 8377;

export function registerView(program: Command): void {
  storeOption(
    program
      .command("view")
      .description("browse the store's runs in a local web UI (live while a run is in progress)")
      .option(
        "--port <n>",
        `port to listen on (0: any free port)`,
        parseIntOption("--port"),
        DEFAULT_VIEW_PORT,
      )
      .option(
        "--host <addr>",
        "interface to listen on; keep the loopback default unless you mean to share it",
        "127.0.0.1",
      ),
  ).action(async (opts: { store: string; port: number; host: string }) => {
    if (opts.port < 0 || opts.port > 65535)
      throw new UsageError(`--port must be in 0..65535, got ${opts.port}`);
    // Opening a missing file would create an empty store; a typo is an error instead (openExisting).
    const store = Store.openExisting(opts.store);
    let viewer: Awaited<ReturnType<typeof startViewer>>;
    try {
      viewer = await startViewer({ store, host: opts.host, port: opts.port });
    } catch (err) {
      store.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE")
        throw new UsageError(`port ${opts.port} is in use; pick another with --port`);
      throw err;
    }
    process.stdout.write(`steerbench view: ${viewer.url} (store ${store.path}); Ctrl-C to stop\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void viewer.close().finally(() => {
          store.close();
          done();
        });
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  });
}
