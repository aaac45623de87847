/** The envelope every weft resource shares, Kubernetes-style. Specs are typed per kind in ./kinds. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Set by the store: the revision at which this object last changed. */
  resourceVersion?: string;
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** Where a document came from, so every error can name the file, line and field. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** Identity of a resource in the store: kind + namespace + name. Cluster-scoped kinds use namespace ''. */
export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

export function resourceKeyString(key: ResourceKey): string {
  return `${key.kind}/${key.namespace}/${key.name}`;
}
