/**
 * Where a connection or request matched to a ServiceEntry port goes, by the entry's resolution (Istio's):
 * NONE: on to the address the app dialled; STATIC: the next endpoint; DNS: the next endpoint, its name resolved,
 * or without endpoints the host itself resolved (the name the app used, else the entry's first exact host).
 */
import net from 'node:net';
import { WeftError } from '../../errors.js';
import type { ExternalRoute } from '../config/compiled-externals.js';
import type { HostResolver } from './external-resolver.js';

export interface Destination {
  address: string;
  port: number;
}

export async function externalDestination(route: ExternalRoute, dialled: Destination, host: string | undefined, resolver: HostResolver): Promise<Destination> {
  switch (route.entry.resolution) {
    case 'NONE':
      return net.isIP(dialled.address) !== 0 ? dialled : { address: await resolver.resolve(dialled.address), port: dialled.port };
    case 'STATIC': {
      const ep = route.pickEndpoint();
      if (!ep) throw new WeftError('NO_HEALTHY_UPSTREAM', `ServiceEntry ${route.source} has no endpoints`);
      return ep;
    }
    case 'DNS': {
      const ep = route.pickEndpoint();
      if (ep) return { address: await resolver.resolve(ep.address), port: ep.port };
      const name = host !== undefined && !host.startsWith('*') ? host : route.entry.hosts.find((h) => !h.startsWith('*'));
      if (name === undefined) throw new WeftError('NO_HEALTHY_UPSTREAM', `ServiceEntry ${route.source} has no host to resolve`);
      return { address: await resolver.resolve(name), port: route.port.targetPort };
    }
    default: {
      const never: never = route.entry.resolution;
      return never;
    }
  }
}
