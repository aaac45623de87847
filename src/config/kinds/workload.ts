/**
 * weft.dev/v1alpha1 Workload: one process the local runtime runs beside a sidecar, the mesh's stand-in for a pod.
 * The spec is what a user writes; the status is only ever set by the runtime.
 */
import { z } from 'zod';
import { PortNumberSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

// An environment variable name as a POSIX shell would accept it.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const WorkloadPortSchema = z.strictObject({
  name: z.string().optional(),
  containerPort: PortNumberSchema,
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  appProtocol: z.string().optional(),
});

export const WorkloadSpecSchema = z.strictObject({
  serviceAccount: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'serviceAccount must be a DNS-1123 subdomain')
    .max(253)
    .default('default'),
  command: z.array(z.string()).min(1, 'command must name at least the program to run'),
  env: z.record(z.string().regex(ENV_NAME, 'not a valid environment variable name'), z.string()).default({}),
  ports: z.array(WorkloadPortSchema).default([]),
  workingDir: z.string().optional(),
});

export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema>;
export type WorkloadPort = z.infer<typeof WorkloadPortSchema>;

export type WorkloadPhase = 'Pending' | 'Running' | 'Restarting' | 'Failed';

/** Set by the runtime, never by a user. */
export interface WorkloadStatus {
  phase: WorkloadPhase;
  podIP?: string;
  restarts?: number;
  message?: string;
}

export function checkWorkload(spec: WorkloadSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (spec.command[0] === '') issues.push({ path: ['command', 0], message: 'the program to run must not be empty' });
  const names = new Map<string, number>();
  const ports = new Map<string, number>();
  spec.ports.forEach((p, i) => {
    if (p.name !== undefined) {
      const first = names.get(p.name);
      if (first !== undefined) issues.push({ path: ['ports', i, 'name'], message: `duplicate port name "${p.name}" (also ports[${first}])` });
      else names.set(p.name, i);
    }
    const key = `${p.containerPort}/${p.protocol}`;
    const first = ports.get(key);
    if (first !== undefined) issues.push({ path: ['ports', i, 'containerPort'], message: `duplicate port ${key} (also ports[${first}])` });
    else ports.set(key, i);
  });
  return issues;
}
