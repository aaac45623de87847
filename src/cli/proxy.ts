/** `weft proxy`: run one sidecar or gateway; its bootstrap settings come from WEFT_* environment variables. */
import type { Command } from 'commander';
import { parseProxySettings } from '../proxy/settings.js';
import { runProxy } from '../proxy/main.js';
import { processOutput, runVerb } from './verb-failure.js';
import { exitWhenOrphaned } from '../parent-watch.js';

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('run a sidecar or gateway proxy (settings from WEFT_* environment variables)')
    .action(async () =>
      runVerb(processOutput, async () => {
        const settings = parseProxySettings((k) => process.env[k]);
        // The token is spent on first use; keep it out of anything this process spawns or prints.
        delete process.env['WEFT_BOOTSTRAP_TOKEN'];
        const proxy = await runProxy(settings, (reason) => {
          process.stderr.write(`weft proxy: ${reason}; exiting to be started again\n`);
          process.exit(75);
        });
        const stop = (): void => void proxy.stop().then(() => process.exit(0));
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        exitWhenOrphaned((k) => process.env[k], stop);
        // Nothing a request does may bring the proxy down; log and keep serving.
        process.on('uncaughtException', (err) => process.stderr.write(`uncaught: ${err.stack ?? String(err)}\n`));
      }),
    );
}
