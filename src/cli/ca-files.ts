/** `--ca-cert`, `--ca-key`, `--ca-chain`: the operator's CA files for `weft up` and `weft control`, all or none. */
import { WeftError } from '../errors.js';

export function caFilesOf(opts: { caCert?: string; caKey?: string; caChain?: string }): { certFile: string; keyFile: string; chainFile?: string } | undefined {
  if (opts.caCert !== undefined && opts.caKey === undefined) throw new WeftError('BAD_REQUEST', '--ca-key is required with --ca-cert');
  if (opts.caKey !== undefined && opts.caCert === undefined) throw new WeftError('BAD_REQUEST', '--ca-cert is required with --ca-key');
  if (opts.caChain !== undefined && opts.caCert === undefined) throw new WeftError('BAD_REQUEST', '--ca-chain needs --ca-cert and --ca-key');
  if (opts.caCert === undefined || opts.caKey === undefined) return undefined;
  return { certFile: opts.caCert, keyFile: opts.caKey, ...(opts.caChain === undefined ? {} : { chainFile: opts.caChain }) };
}
