/**
 * What a test file or a bench run started (meshes, servers, network namespaces), stopped however the process ends.
 *
 * node's test runner cancels a file that overruns its timeout with SIGTERM, and a process ended by a signal runs no
 * `after` hook: without this, a cancelled file leaves its whole mesh running. So every resource is registered here
 * before it is made; its owner's own stop unregisters it; on SIGTERM, SIGINT or SIGHUP every registered stop runs
 * (bounded in time) before the process exits; and on any exit a synchronous last resort (SIGKILL to a process
 * group) runs for what is still registered. What a SIGKILL of this process leaves is the next run's to remove
 * (scripts/leftovers.ts), and `weft up` stops its own mesh when it sees its parent gone.
 */
export interface Teardown {
  what: string;
  /** The graceful stop, run on a signal. */
  stop: () => Promise<void> | void;
  /** Synchronous last resort, run on exit if the graceful stop never ran or did not finish. */
  kill?: () => void;
}

/** How long the graceful stops together may take on a signal before the process exits anyway. */
const SIGNAL_STOP_BOUND_MS = 25_000;
const SIGNAL_EXIT_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

const registered = new Set<Teardown>();
let installed = false;
let stopping: Promise<void> | undefined;

/** Registers a teardown; the returned function unregisters it (call it once the resource is gone). */
export function onTeardown(t: Teardown): () => void {
  install();
  registered.add(t);
  return () => {
    registered.delete(t);
  };
}

/** Runs every registered stop, newest first, each once; for `after` hooks and signal handlers alike. */
export function runTeardowns(): Promise<void> {
  stopping ??= (async () => {
    for (const t of [...registered].reverse()) {
      try {
        await t.stop();
      } catch (err) {
        process.stderr.write(`teardown of ${t.what} failed: ${(err as Error).message}\n`);
      }
      registered.delete(t);
    }
  })().finally(() => {
    stopping = undefined;
  });
  return stopping;
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as NodeJS.Signals[]) {
    process.once(signal, () => {
      const bound = new Promise<void>((resolve) => setTimeout(resolve, SIGNAL_STOP_BOUND_MS).unref());
      void Promise.race([runTeardowns(), bound]).finally(() => process.exit(SIGNAL_EXIT_CODES[signal]));
    });
  }
  process.on('exit', () => {
    for (const t of registered) {
      try {
        t.kill?.();
      } catch {
        // nothing more can be done from an exiting process; the next run's sweep removes it
      }
    }
  });
}
