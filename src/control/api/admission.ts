/**
 * Admission at apply: the analyzer runs over the store's resources with the batch applied on top, and the findings
 * on the batch's own objects decide. An error (a broken reference, a claimed host, a conflict the mesh cannot
 * resolve) refuses the whole batch unless the caller forces it; warnings travel back to be printed. A forced apply
 * names what it forced in the audit record's actor (`forced`: the error codes overridden).
 */
import { analyzeResources } from '../../analyze/index.js';
import type { Finding } from '../../analyze/index.js';
import type { Resource } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import type { AuditActor } from '../store/types.js';

export interface AdmissionReport {
  /** Findings below error on the batch's objects. */
  warnings: Finding[];
  /** Errors the caller forced past; empty unless forced. */
  forced: Finding[];
}

const keyOf = (r: Resource): string => resourceKeyString({ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name });

/** Where admission reads the mesh as it is: the control plane's resource mirror, current to the store's revision. */
export interface AdmissionSource {
  listLatest(): Promise<readonly Resource[]>;
}

export async function admitBatch(
  source: AdmissionSource,
  batch: readonly Resource[],
  options: { force: boolean; rootNamespace?: string },
): Promise<AdmissionReport> {
  const incoming = new Set(batch.map(keyOf));
  const current = (await source.listLatest()).filter((r) => !incoming.has(keyOf(r)));
  const analyzed = [...current, ...batch].map((resource) => ({ resource }));
  const findings = analyzeResources(analyzed, { subjects: incoming, ...(options.rootNamespace === undefined ? {} : { rootNamespace: options.rootNamespace }) });
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity !== 'error');
  if (errors.length > 0 && !options.force) {
    const lines = errors.map((f) => `${f.object?.kind} ${f.object?.namespace}/${f.object?.name}: [${f.code}] ${f.field === '' ? '' : `${f.field}: `}${f.message} (fix: ${f.fix})`);
    throw new WeftError('ADMISSION_REFUSED', `admission refused the batch (apply with --force to override, which is audited):\n${lines.join('\n')}`, {
      status: 422,
      detail: { findings: errors },
    });
  }
  return { warnings, forced: options.force ? errors : [] };
}

/** The audit actor of a forced apply: who, and which error codes they overrode (in the chained change record). */
export function forcedActor(actor: AuditActor, forced: readonly Finding[]): AuditActor {
  if (forced.length === 0) return actor;
  return { ...actor, forced: [...new Set(forced.map((f) => f.code))] };
}
