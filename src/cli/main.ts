/**
 * The `weft` command: one file per verb, each registering itself here. A usage error is one line on stderr and exit
 * status 1 (no help text after it: a script reads the line, a person asks for --help).
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { registerUpCommand } from './up.js';
import { registerControlCommand } from './control.js';
import { registerProxyCommand } from './proxy.js';
import { registerApplyCommand } from './apply.js';
import { registerGetCommand } from './get.js';
import { registerDeleteCommand } from './delete.js';
import { registerExecCommand } from './exec.js';
import { registerStatusCommand } from './status.js';
import { registerAuthzCommand } from './authz.js';
import { DEFAULT_STATE_DIR } from '../mesh/state-dir.js';

const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('weft')
  .description('weft: a zero-trust service mesh')
  .version(version, '-V, --version', 'print the version of weft')
  .option('--state-dir <dir>', 'state directory of the mesh', DEFAULT_STATE_DIR);

registerUpCommand(program);
registerApplyCommand(program);
registerGetCommand(program);
registerDeleteCommand(program);
registerExecCommand(program);
registerStatusCommand(program);
registerAuthzCommand(program);
registerControlCommand(program);
registerProxyCommand(program);

await program.parseAsync(process.argv);
