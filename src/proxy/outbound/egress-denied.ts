/** The reason a REGISTRY_ONLY proxy gives for a destination it does not know, in the access log and the 502 body. */
import type { OutboundTrafficPolicyMode } from '../../proxyconfig/types.js';

export function egressDeniedReason(policy: OutboundTrafficPolicyMode, destination: string): string {
  return `egress denied: ${policy}, no ServiceEntry for ${destination}`;
}
