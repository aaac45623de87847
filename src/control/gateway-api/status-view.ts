/**
 * Status of Gateway API objects as `weft get` shows it: computed from the same stored resources the compile reads,
 * at the same revision, and attached to the objects on the way out. It is never stored, so a status change is
 * neither a revision nor an audit record, and `weft get --at` shows the status the mesh had then.
 */
import type { StoredResource } from '../store/types.js';
import { translateGatewayApi } from './translate.js';

const WITH_STATUS = new Set(['GatewayClass', 'KubernetesGateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute']);

/** `all` reads every resource at the revision `items` were read at; it is called only when some item needs status. */
export async function withGatewayApiStatus(items: StoredResource[], all: () => Promise<StoredResource[]>): Promise<StoredResource[]> {
  if (!items.some((r) => WITH_STATUS.has(r.kind))) return items;
  const { statuses } = translateGatewayApi(await all());
  return items.map((r) => {
    if (!WITH_STATUS.has(r.kind)) return r;
    const status = statuses.get(`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`);
    return status === undefined ? r : { ...r, status };
  });
}
