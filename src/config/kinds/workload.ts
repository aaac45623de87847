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

/** The sidecar's uid and gid (Istio's 1337): its own connections are the ones a pod's capture rules let through. */
export const SIDECAR_UID = 1337;

// A Linux uid or gid; 4294967295 is (uid_t)-1, "no change", never an identity.
const LinuxIdSchema = z.number().int('must be an integer').min(0, 'must be at least 0').max(4294967294, 'must be at most 4294967294');

/**
 * Kubernetes' pod securityContext, the part that says who the app runs as in its pod (netns isolation). Unset, the
 * app runs as weft's app uid, never root; root only when runAsUser: 0 is written.
 */
export const WorkloadSecurityContextSchema = z.strictObject({
  runAsUser: LinuxIdSchema.optional(),
  runAsGroup: LinuxIdSchema.optional(),
  runAsNonRoot: z.boolean().optional(),
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
  securityContext: WorkloadSecurityContextSchema.optional(),
});

export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema>;
export type WorkloadPort = z.infer<typeof WorkloadPortSchema>;
export type WorkloadSecurityContext = z.infer<typeof WorkloadSecurityContextSchema>;

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
  issues.push(...checkSecurityContext(spec.securityContext));
  return issues;
}

function checkSecurityContext(sc: WorkloadSecurityContext | undefined): SpecIssue[] {
  if (sc === undefined) return [];
  const issues: SpecIssue[] = [];
  // Capture lets the sidecar's uid through: an app running as it would skip its own sidecar.
  if (sc.runAsUser === SIDECAR_UID) issues.push({ path: ['securityContext', 'runAsUser'], message: `${SIDECAR_UID} is the sidecar's uid; an app running as it would bypass capture` });
  if (sc.runAsGroup === SIDECAR_UID) issues.push({ path: ['securityContext', 'runAsGroup'], message: `${SIDECAR_UID} is the sidecar's gid; choose another group` });
  if (sc.runAsNonRoot === true && sc.runAsUser === 0) issues.push({ path: ['securityContext', 'runAsNonRoot'], message: 'runAsNonRoot is true but runAsUser is 0 (root)' });
  // As root the app keeps every privilege; a group of its own would only suggest a drop that does not happen.
  if (sc.runAsUser === 0 && sc.runAsGroup !== undefined) issues.push({ path: ['securityContext', 'runAsGroup'], message: 'runAsGroup has no effect when runAsUser is 0: the app runs as root' });
  return issues;
}
