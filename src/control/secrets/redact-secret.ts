/**
 * How a stored Secret is shown (`weft get`, history, diff): where Kubernetes writes its fields (`type`, `data`
 * beside metadata), every value replaced by a marker. The stored form is already ciphertext; this only makes it
 * read like a Secret, with the digest that tells two versions apart.
 */
import { isSealed } from './secret-sealing.js';

export const REDACTED = '<redacted>';

/** A resource object as the API returns it; anything but a sealed Secret is returned as it is. */
export function secretForDisplay(resource: Record<string, unknown>): Record<string, unknown> {
  if (resource['kind'] !== 'Secret' || !isSealed(resource['spec'])) return resource;
  const { spec, ...rest } = resource;
  const s = spec;
  return {
    ...rest,
    type: s.type,
    ...(s.immutable === undefined ? {} : { immutable: s.immutable }),
    data: Object.fromEntries(s.sealed.keys.map((k) => [k, REDACTED])),
    sealedDigest: s.sealed.digest,
  };
}

/** A compiled ProxyConfig as shown to people (`weft audit enforced`): served certificates kept, their private keys replaced. */
export function withoutPrivateKeys<C>(config: C): C {
  return JSON.parse(JSON.stringify(config), (key, value: unknown) =>
    key === 'privateKey' && typeof value === 'object' && value !== null && 'pem' in value ? { ...value, pem: REDACTED } : value,
  ) as C;
}
