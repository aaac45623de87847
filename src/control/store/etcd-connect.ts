/**
 * Opening the etcd store: the client with the fault handling replicas need (a member that stops answering costs
 * one call deadline before another member is tried; a broken watch resumes within a second), then the store.
 */
import { Etcd3 } from 'etcd3';
import type { IOptions } from 'etcd3';
import { WeftError } from '../../errors.js';
import { EtcdResourceStore } from './etcd-store.js';
import { checkEtcdEndpoints, diagnoseEtcdTls, etcdCredentials } from './etcd-tls.js';
import type { EtcdStore, EtcdStoreOptions } from './etcd-store.js';

export type { EtcdStore, EtcdStoreOptions };

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;
/** etcd3's default watch backoff grows to 30 s; a replica should resume its watch within a second. */
const WATCH_BACKOFF: WatchBackoff = { duration: 300, next: () => WATCH_BACKOFF } as WatchBackoff;

/** Connects to the cluster and starts the store's watch; the revision continues where the cluster has it. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  if (options.endpoints.length === 0) throw new TypeError('etcd needs at least one endpoint');
  const timeout = options.callTimeoutMs ?? 5000;
  checkEtcdEndpoints(options.endpoints, options.tls);
  const credentials = etcdCredentials(options.tls);
  const client = new Etcd3({
    hosts: [...options.endpoints],
    ...(credentials === undefined ? {} : { credentials }),
    dialTimeout: timeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { watchBackoff: WATCH_BACKOFF },
    // gRPC's reconnect backoff grows to two minutes by default; a member that comes back should be used again soon.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
  });
  const store = new EtcdResourceStore(client, client.namespace(options.prefix ?? 'weft/'), options);
  try {
    await store.start();
  } catch (err) {
    client.close();
    // gRPC says only that no member answered; a TLS mistake deserves its own error.
    const tlsProblem = await diagnoseEtcdTls(options.endpoints, options.tls);
    if (tlsProblem !== undefined) throw new WeftError('STORE_TLS', tlsProblem, { status: 503, cause: err });
    throw err;
  }
  return store;
}
