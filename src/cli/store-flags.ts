/**
 * The store flags `weft control` and `weft up` share: which backend, and for etcd its members, the key prefix of the
 * mesh and the sealing key every replica is given. Values are checked when the command line is read.
 */
import { InvalidArgumentError } from 'commander';
import { WeftError } from '../errors.js';
import type { StoreChoice } from '../control/replica/control-base.js';
import { checkEtcdEndpoints } from '../control/store/etcd-tls.js';
import type { EtcdClientTls } from '../control/store/etcd-tls.js';

export function storeKind(value: string): 'sqlite' | 'etcd' {
  if (value !== 'sqlite' && value !== 'etcd') throw new InvalidArgumentError('Expected sqlite or etcd.');
  return value;
}

/** Comma-separated client URLs of etcd members, `http://10.0.0.1:2379,http://10.0.0.2:2379`. */
export function etcdEndpoints(value: string): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new InvalidArgumentError(`${u} is not a URL; expected http://host:port of an etcd member.`);
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.port === '' || parsed.pathname !== '/') {
      throw new InvalidArgumentError(`${u}: expected http://host:port (or https://) of an etcd member.`);
    }
  }
  if (urls.length === 0) throw new InvalidArgumentError('Expected at least one etcd member URL.');
  return urls;
}

/** A key prefix: letters, digits, `-_.` and `/`, ending in `/` so one mesh's keys never prefix another's. */
export function etcdPrefix(value: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/.test(value)) throw new InvalidArgumentError('Expected a key prefix like weft/ or meshes/prod/.');
  return value;
}

export interface StoreFlags extends EtcdTlsFlags {
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
  etcdPrefix: string;
  sealingKey?: string;
}

/** etcd's own client flag names (etcdctl --cacert/--cert/--key), prefixed. */
export interface EtcdTlsFlags {
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
}

/** The client TLS files, checked against the endpoints' scheme; undefined for plaintext or the system's roots. */
export function etcdTlsOf(flags: EtcdTlsFlags, endpoints: readonly string[]): EtcdClientTls | undefined {
  if (flags.etcdCacert === undefined) {
    if (flags.etcdCert !== undefined || flags.etcdKey !== undefined) throw new WeftError('BAD_REQUEST', '--etcd-cert and --etcd-key need --etcd-cacert');
    checkEtcdEndpoints(endpoints, undefined);
    return undefined;
  }
  const tls: EtcdClientTls = { caFile: flags.etcdCacert, ...(flags.etcdCert === undefined ? {} : { certFile: flags.etcdCert }), ...(flags.etcdKey === undefined ? {} : { keyFile: flags.etcdKey }) };
  checkEtcdEndpoints(endpoints, tls);
  return tls;
}

export function storeChoiceOf(flags: StoreFlags): StoreChoice {
  if (flags.store === 'sqlite') {
    if (flags.etcdEndpoints !== undefined || flags.sealingKey !== undefined || flags.etcdCacert !== undefined || flags.etcdCert !== undefined || flags.etcdKey !== undefined) {
      throw new WeftError('BAD_REQUEST', '--etcd-endpoints, --etcd-cacert, --etcd-cert, --etcd-key and --sealing-key go with --store etcd');
    }
    return { kind: 'sqlite' };
  }
  if (flags.etcdEndpoints === undefined) throw new WeftError('BAD_REQUEST', '--store etcd needs --etcd-endpoints');
  if (flags.sealingKey === undefined) throw new WeftError('BAD_REQUEST', '--store etcd needs --sealing-key (the key replicas seal shared secrets under)');
  const tls = etcdTlsOf(flags, flags.etcdEndpoints);
  return { kind: 'etcd', endpoints: flags.etcdEndpoints, prefix: flags.etcdPrefix, sealingKeyFile: flags.sealingKey, ...(tls === undefined ? {} : { tls }) };
}
