/**
 * The ports of the Gateway API listeners the mesh's ingress gateway serves (Gateways of class `istio`, or of a
 * GatewayClass naming Istio's controller), so `weft up` starts the gateway and binds them as it does an Istio
 * Gateway's server ports.
 */
import type { Resource } from '../config/resource.js';

const ISTIO_CONTROLLER = 'istio.io/gateway-controller';

export function gatewayApiListenerPorts(resources: readonly Resource[]): number[] {
  const classes = new Map(resources.filter((r) => r.kind === 'GatewayClass').map((r) => [r.metadata.name, (r.spec as { controllerName?: string }).controllerName]));
  return resources
    .filter((r) => r.kind === 'KubernetesGateway')
    .filter((r) => {
      const className = (r.spec as { gatewayClassName?: string }).gatewayClassName ?? '';
      return classes.has(className) ? classes.get(className) === ISTIO_CONTROLLER : className === 'istio';
    })
    .flatMap((r) => ((r.spec as { listeners?: { port: number }[] }).listeners ?? []).map((l) => l.port));
}
