/** The `weft` command: one file per verb, each registering itself here. */
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

const program = new Command('weft')
  .description('weft: a zero-trust service mesh')
  .option('--state-dir <dir>', 'state directory of the mesh', DEFAULT_STATE_DIR)
  .showHelpAfterError();

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
