/**
 * Pure rules about a resource's content that every store backend shares: its key, what counts as a change
 * (so `unchanged` means the same thing on SQLite and etcd), and the canonical form that audit hashes.
 */
import { createHash } from 'node:crypto';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import type { StoredResource } from './types.js';

/** JSON with object keys sorted at every level, so equal content has one spelling. */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortKeys(value));
  } catch (cause) {
    throw new WeftError('BAD_REQUEST', `resource content is not JSON: ${(cause as Error).message}`, {
      status: 400,
      cause,
    });
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function contentSha256(resource: StoredResource): string {
  return createHash('sha256').update(canonicalJson(resource)).digest('hex');
}

export function keyOf(resource: Resource): ResourceKey {
  return { kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name };
}

/** Throws BAD_REQUEST for an object without a usable key; the API validates first, this guards the store. */
export function checkStorable(resource: Resource): ResourceKey {
  const meta = (resource as Partial<Resource>).metadata;
  if (typeof resource.kind !== 'string' || resource.kind === '') {
    throw new WeftError('BAD_REQUEST', 'resource has no kind', { status: 400 });
  }
  if (typeof resource.apiVersion !== 'string' || resource.apiVersion === '') {
    throw new WeftError('BAD_REQUEST', `${resource.kind} has no apiVersion`, { status: 400 });
  }
  if (meta === undefined || typeof meta.name !== 'string' || meta.name === '') {
    throw new WeftError('BAD_REQUEST', `${resource.kind} has no metadata.name`, { status: 400 });
  }
  if (typeof meta.namespace !== 'string') {
    throw new WeftError('BAD_REQUEST', `${resource.kind}/${meta.name} has no metadata.namespace`, { status: 400 });
  }
  return keyOf(resource);
}

/** What the user owns: a change to any of these is `configured`; status and store fields are not compared. */
function desiredState(resource: Resource): unknown {
  return {
    apiVersion: resource.apiVersion,
    spec: resource.spec,
    labels: resource.metadata.labels ?? {},
    annotations: resource.metadata.annotations ?? {},
  };
}

export function sameDesiredState(stored: Resource, incoming: Resource): boolean {
  return canonicalJson(desiredState(stored)) === canonicalJson(desiredState(incoming));
}

/**
 * The object as stored after an apply at `revision`: the user's desired state, the store's metadata, and the
 * status kept from before (status belongs to the runtime, set through setStatus, never through apply).
 */
export function storedForm(
  incoming: Resource,
  revision: number,
  creationTimestamp: string,
  previous: StoredResource | undefined,
): StoredResource {
  const stored: StoredResource = {
    apiVersion: incoming.apiVersion,
    kind: incoming.kind,
    metadata: {
      name: incoming.metadata.name,
      namespace: incoming.metadata.namespace,
      labels: { ...(incoming.metadata.labels ?? {}) },
      annotations: { ...(incoming.metadata.annotations ?? {}) },
      resourceVersion: String(revision),
      creationTimestamp,
    },
    spec: incoming.spec,
  };
  if (previous?.status !== undefined) stored.status = previous.status;
  // A round trip through canonical JSON detaches the stored object from the caller's and refuses non-JSON.
  return JSON.parse(canonicalJson(stored)) as StoredResource;
}

/** BAD_REQUEST if one call names the same object twice: which one should win is not ours to guess. */
export function checkDistinctKeys(keys: ResourceKey[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    const s = resourceKeyString(key);
    if (seen.has(s)) {
      throw new WeftError('BAD_REQUEST', `${s} is given more than once in one request`, {
        status: 400,
        detail: { key },
      });
    }
    seen.add(s);
  }
}
