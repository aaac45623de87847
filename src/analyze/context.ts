/**
 * What every check reads: the resources (with where each was written, when it came from a file), the snapshot the
 * compiler builds from them (registry, mesh settings, policy lists), and the host and namespace questions several
 * checks ask. Built once per analysis; checks never change it.
 */
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { MeshConfigSpec } from '../config/kinds/mesh-config.js';
import { resourceKeyString } from '../config/resource.js';
import type { Resource, SourcePosition } from '../config/resource.js';
import { formatFieldPath } from '../config/issues.js';
import { buildSnapshot } from '../control/compile/snapshot.js';
import type { MeshSnapshot } from '../control/compile/snapshot.js';
import { hostSubsetOf } from '../control/compile/sidecar-scope.js';
import type { Draft, Finding } from './finding.js';

export interface AnalyzedResource {
  resource: Resource;
  /** Where the document starts, when it was loaded from a file. */
  source?: SourcePosition;
  /** Where a field of the document is written, when it was loaded from a file. */
  locate?: (path: readonly (string | number)[]) => SourcePosition;
}

/** One object of a kind, with its spec typed by the caller. */
export interface Item<Spec> {
  readonly entry: AnalyzedResource;
  readonly namespace: string;
  readonly name: string;
  readonly spec: Spec;
}

export class AnalysisContext {
  readonly items: readonly AnalyzedResource[];
  readonly snapshot: MeshSnapshot;
  readonly rootNamespace: string;
  /** Every namespace some object lives in, and the root namespace. */
  readonly namespaces: ReadonlySet<string>;
  // Asked for by several checks, for every host they meet.
  #knownHosts: readonly { host: string; namespace: string }[] | undefined;
  /** The objects of each kind, listed once: most checks ask for a kind or two, and admission analyses the whole mesh. */
  readonly #byKind = new Map<string, Item<unknown>[]>();

  /** Admission: the keys of the batch's objects, the only ones whose findings are asked for (undefined: every object). */
  readonly #subjects: ReadonlySet<string> | undefined;

  constructor(items: readonly AnalyzedResource[], defaults: { rootNamespace?: string; subjects?: ReadonlySet<string> } = {}) {
    this.items = items;
    this.#subjects = defaults.subjects;
    const meshConfig = items.find((i) => i.resource.kind === 'MeshConfig')?.resource.spec as MeshConfigSpec | undefined;
    const settings = meshConfigWithDefaults(meshConfig ?? (defaults.rootNamespace === undefined ? {} : { rootNamespace: defaults.rootNamespace }));
    this.snapshot = buildSnapshot(items.map((i) => i.resource), 0, settings);
    this.rootNamespace = settings.rootNamespace;
    this.namespaces = new Set([settings.rootNamespace, ...items.map((i) => i.resource.metadata.namespace).filter((n) => n !== '')]);
    for (const entry of items) {
      const r = entry.resource;
      let list = this.#byKind.get(r.kind);
      if (list === undefined) this.#byKind.set(r.kind, (list = []));
      list.push({ entry, namespace: r.metadata.namespace, name: r.metadata.name, spec: r.spec });
    }
  }

  of<Spec>(kind: string): readonly Item<Spec>[] {
    return (this.#byKind.get(kind) ?? []) as readonly Item<Spec>[];
  }

  /**
   * The objects of `kind` a check reports on: every one, or in admission the batch's only. For checks whose findings
   * fall on the object they loop over; the rest of the mesh is still read through `of`.
   */
  subjectsOf<Spec>(kind: string): readonly Item<Spec>[] {
    const all = this.of<Spec>(kind);
    const subjects = this.#subjects;
    return subjects === undefined ? all : all.filter((i) => subjects.has(resourceKeyString({ kind, namespace: i.namespace, name: i.name })));
  }

  /** Places a draft on an object: its key, the field as text, and file:line:column when the object has a file. */
  finding(entry: AnalyzedResource, draft: Draft): Finding {
    const r = entry.resource;
    const f: Finding = {
      code: draft.code,
      severity: draft.severity,
      object: { kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name },
      message: draft.message,
      fix: draft.fix,
      field: formatFieldPath(draft.path),
    };
    const at = entry.locate?.(draft.path) ?? entry.source;
    if (at !== undefined) f.source = at;
    return f;
  }

  /** Every host the registry knows, each with the namespace that defines it: Services (FQDN) and ServiceEntry hosts. */
  knownHosts(): readonly { host: string; namespace: string }[] {
    if (this.#knownHosts === undefined) {
      const reg = this.snapshot.registry;
      this.#knownHosts = [
        ...reg.services.map((s) => ({ host: s.host, namespace: s.namespace })),
        ...reg.serviceEntries.flatMap((e) => e.hosts.map((h) => ({ host: h.toLowerCase(), namespace: e.namespace }))),
      ];
    }
    return this.#knownHosts;
  }

  /** Does some Service or ServiceEntry answer for `host` (a FQDN or a wildcard)? Wildcards match as Istio's hosts do. */
  hostKnown(host: string): boolean {
    const h = host.toLowerCase();
    return this.knownHosts().some((k) => hostSubsetOf(h, k.host) || hostSubsetOf(k.host, h));
  }
}

/** A check family: a pure function from the context to its findings. */
export type Check = (ctx: AnalysisContext) => Finding[];
