/**
 * The REQUEST.yaml form of `weft authz check`: one request as a proxy would see it, turned into the
 * AuthzRequest the engine evaluates. The path goes through the same normalisation the proxy applies.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { WeftError } from '../errors.js';
import type { PathNormalization } from '../http/normalize-path.js';
import { normalizePath, pathWithoutQuery } from '../http/normalize-path.js';
import { parseIpAddress } from './ip-block.js';
import type { AuthzRequest } from './types.js';

const ip = z.string().refine((s) => parseIpAddress(s) !== null, { message: 'must be an IPv4 or IPv6 address' });
const port = z.number().int().min(1).max(65535);

const RequestFileSchema = z.strictObject({
  destination: z.strictObject({
    namespace: z.string().min(1),
    labels: z.record(z.string(), z.string()).default({}),
    port,
    ip: ip.optional(),
  }),
  source: z
    .strictObject({
      principal: z.string().min(1).optional(),
      ip: ip.optional(),
      remoteIp: ip.optional(),
    })
    .default({}),
  connection: z.strictObject({ sni: z.string().optional() }).default({}),
  request: z
    .strictObject({
      method: z.string().min(1).default('GET'),
      host: z.string().min(1),
      path: z.string().min(1),
      headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    })
    .optional(),
  auth: z
    .strictObject({
      principal: z.string().min(1),
      audiences: z.array(z.string()).default([]),
      presenter: z.string().optional(),
      claims: z.record(z.string(), z.unknown()).default({}),
    })
    .optional(),
});

export interface ParsedRequestFile {
  workloadNamespace: string;
  workloadLabels: Record<string, string>;
  request: AuthzRequest;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

export function parseRequestFile(text: string, options: { file?: string; pathNormalization?: PathNormalization } = {}): ParsedRequestFile {
  const file = options.file ?? 'request';
  const doc = parseDocument(text, { prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line;
    throw new WeftError('CONFIG_PARSE', `${file}${line ? `:${line}` : ''}: ${yamlError.message}`, { detail: { file, line } });
  }
  const parsed = RequestFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = fieldPath(issue.path);
    throw new WeftError('CONFIG_INVALID', `${file}: ${where || '(document)'}: ${issue.message}`, { detail: { file, field: where } });
  }
  const f = parsed.data;
  const mode = options.pathNormalization ?? 'BASE';
  let http: AuthzRequest['http'];
  if (f.request) {
    const normalized = normalizePath(f.request.path, mode);
    if ('reject' in normalized) {
      throw new WeftError('CONFIG_INVALID', `${file}: request.path: ${f.request.path} is rejected with 400 under ${mode} path normalisation`, {
        status: 400,
        detail: { file, field: 'request.path' },
      });
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.request.headers)) headers[k.toLowerCase()] = String(v);
    http = { method: f.request.method, host: f.request.host, path: pathWithoutQuery(normalized.path), headers };
  }
  const request: AuthzRequest = {
    connection: {
      sourceIp: f.source.ip ?? '',
      ...(f.source.remoteIp ? { remoteIp: f.source.remoteIp } : {}),
      destinationIp: f.destination.ip ?? '',
      destinationPort: f.destination.port,
      ...(f.connection.sni ? { sni: f.connection.sni } : {}),
      ...(f.source.principal ? { sourcePrincipal: f.source.principal } : {}),
    },
    ...(http ? { http } : {}),
    ...(f.auth
      ? {
          auth: {
            principal: f.auth.principal,
            audiences: f.auth.audiences,
            ...(f.auth.presenter ? { presenter: f.auth.presenter } : {}),
            claims: f.auth.claims,
          },
        }
      : {}),
  };
  return { workloadNamespace: f.destination.namespace, workloadLabels: f.destination.labels, request };
}
