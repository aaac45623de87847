/**
 * Kubernetes' v1 Secret, as `kubectl create secret tls NAME --cert --key -o yaml` writes it: `type` and `data`
 * beside metadata (no `spec`), values base64; `stringData` is merged into `data` as the API server does. weft keeps
 * the fields it reads under `spec` internally; `weft get` shows them where Kubernetes does, redacted.
 *
 * The TLS material a gateway will serve is checked here, so an expired certificate or a key of another certificate
 * is refused at apply with the field that holds it. Istio's two layouts are read: `tls.crt`/`tls.key`/`ca.crt`
 * (type kubernetes.io/tls) and `cert`/`key`/`cacert` (a generic Secret).
 */
import { z } from 'zod';
import { systemClock } from '../../clock.js';
import { checkCaBundle, checkTlsPair } from '../tls/tls-material.js';
import type { SpecIssue } from './spec-issue.js';

/** Fields of a Secret that sit at the top level of the document and form its spec. */
export const SECRET_TOP_LEVEL_FIELDS = ['type', 'data', 'stringData', 'immutable'] as const;

const KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const keyName = z.string().regex(KEY, 'a Secret key must consist of alphanumerics, "-", "_" or "."').max(253);

export const SecretSpecSchema = z
  .strictObject({
    type: z.string().min(1).default('Opaque'),
    data: z.record(keyName, z.string().regex(BASE64, 'must be base64').refine((s) => s.length % 4 === 0, 'must be base64 (length a multiple of 4)')).optional(),
    stringData: z.record(keyName, z.string()).optional(),
    immutable: z.boolean().optional(),
  })
  .transform(({ stringData, ...s }) => ({
    ...s,
    // The API server's rule: stringData wins over data for the same key, and is never stored as written.
    data: { ...s.data, ...Object.fromEntries(Object.entries(stringData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])) },
  }));

export type SecretSpec = z.output<typeof SecretSpecSchema>;

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

/** The decoded value of one key. */
export function secretValue(spec: SecretSpec, key: string): string | undefined {
  const v = spec.data[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** Which keys hold the certificate, key and CA bundle: Kubernetes' TLS layout or Istio's generic one. */
export function credentialKeys(spec: SecretSpec): { cert: string; key: string; ca: string } {
  return spec.type === TLS_SECRET_TYPE || spec.data['tls.crt'] !== undefined
    ? { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' }
    : { cert: 'cert', key: 'key', ca: 'cacert' };
}

export function checkSecretAt(spec: SecretSpec, now: number): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (spec.type === TLS_SECRET_TYPE) {
    for (const k of ['tls.crt', 'tls.key']) if (spec.data[k] === undefined) issues.push({ path: ['data'], message: `a ${TLS_SECRET_TYPE} Secret requires data["${k}"]` });
    if (issues.length > 0) return issues;
  }
  const keys = credentialKeys(spec);
  const cert = secretValue(spec, keys.cert);
  const key = secretValue(spec, keys.key);
  if (cert !== undefined && key !== undefined) {
    for (const p of checkTlsPair(cert, key, now)) issues.push({ path: ['data', p.field === 'certificate' ? keys.cert : keys.key], message: p.message });
  } else if (cert !== undefined || key !== undefined) {
    issues.push({ path: ['data'], message: `data["${keys.cert}"] and data["${keys.key}"] go together` });
  }
  const ca = secretValue(spec, keys.ca);
  if (ca !== undefined) {
    const problem = checkCaBundle(ca);
    if (problem !== undefined) issues.push({ path: ['data', keys.ca], message: problem });
  }
  return issues;
}

export function checkSecret(spec: SecretSpec): SpecIssue[] {
  return checkSecretAt(spec, systemClock.now());
}
