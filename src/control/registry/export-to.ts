/**
 * Istio's exportTo: which namespaces may see a service. A ServiceEntry says it in `spec.exportTo`, a Kubernetes
 * Service in the `networking.istio.io/exportTo` annotation (comma-separated). Absent, empty or `*` exports to
 * every namespace; `.` to the owner's own namespace; `~` to none (not even its own); any other entry names a
 * namespace.
 */

export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** The entries as written, trimmed; undefined when the resource says nothing (= every namespace). */
export type ExportTo = readonly string[] | undefined;

export function exportToAnnotation(annotations: Record<string, string>): ExportTo {
  const text = annotations[EXPORT_TO_ANNOTATION];
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function isExportedTo(exportTo: ExportTo, ownerNamespace: string, namespace: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  // `~` wins over anything listed beside it: validation rejects the mix, and hiding is the safe reading.
  if (exportTo.includes('~')) return false;
  return exportTo.some((e) => e === '*' || (e === '.' ? namespace === ownerNamespace : e === namespace));
}
