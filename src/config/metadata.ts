/**
 * ObjectMeta as Kubernetes validates it: DNS-1123/1035 names, label keys and values, annotation keys. Fields the
 * API server sets (uid, resourceVersion, ...) are accepted so `kubectl get -o yaml` output loads, then dropped.
 */
import type { ObjectMeta } from './resource.js';
import type { NameRule } from './kinds/index.js';
import type { FieldPath } from './issues.js';

export interface FieldProblem {
  path: FieldPath;
  message: string;
  /** The problem is the key itself (an unknown field), so point at the key rather than its value. */
  atKey?: boolean;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const IGNORED = new Set(['resourceVersion', 'uid', 'generation', 'creationTimestamp']);
const KNOWN = new Set(['name', 'namespace', 'labels', 'annotations', ...IGNORED]);
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export function dns1123LabelProblem(s: string): string | undefined {
  if (s.length > 63) return 'must be at most 63 characters';
  return DNS1123_LABEL.test(s) ? undefined : 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
}

export function dns1123SubdomainProblem(s: string): string | undefined {
  if (s.length > 253) return 'must be at most 253 characters';
  return DNS1123_SUBDOMAIN.test(s) ? undefined : 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
}

function dns1035LabelProblem(s: string): string | undefined {
  if (s.length > 63) return 'must be at most 63 characters';
  return DNS1035_LABEL.test(s) ? undefined : 'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
}

/** Kubernetes qualified name: an optional DNS subdomain prefix and "/", then a name of at most 63 characters. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix === '') return 'key prefix must not be empty';
    const p = dns1123SubdomainProblem(prefix);
    if (p !== undefined) return `key prefix ${p}`;
  }
  if (name === '') return 'key name must not be empty';
  if (name.length > 63) return 'key name must be at most 63 characters';
  return QUALIFIED_NAME.test(name) ? undefined : 'key name must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'label value must be at most 63 characters';
  return QUALIFIED_NAME.test(value) ? undefined : 'label value must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(
  raw: unknown,
  field: 'labels' | 'annotations',
  problems: FieldProblem[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    problems.push({ path: ['metadata', field], message: 'must be a map of strings' });
    return out;
  }
  let bytes = 0;
  for (const [k, v] of Object.entries(raw)) {
    const path = ['metadata', field, k];
    const keyProblem = qualifiedNameProblem(k);
    if (keyProblem !== undefined) problems.push({ path, message: keyProblem, atKey: true });
    if (typeof v !== 'string') {
      problems.push({ path, message: `${field} values must be strings (quote numbers and booleans)` });
      continue;
    }
    if (field === 'labels') {
      const valueProblem = labelValueProblem(v);
      if (valueProblem !== undefined) problems.push({ path, message: valueProblem });
    }
    bytes += k.length + v.length;
    out[k] = v;
  }
  if (field === 'annotations' && bytes > ANNOTATIONS_MAX_BYTES) {
    problems.push({ path: ['metadata', 'annotations'], message: 'annotations must total at most 256 KiB' });
  }
  return out;
}

/** Validates raw metadata; namespaced kinds default to namespace "default", cluster-scoped ones get "". */
export function checkMetadata(
  raw: unknown,
  rule: NameRule,
  namespaced: boolean,
  problems: FieldProblem[],
): ObjectMeta | undefined {
  if (!isPlainObject(raw)) {
    problems.push({ path: raw === undefined ? [] : ['metadata'], message: 'metadata with a name is required' });
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) problems.push({ path: ['metadata', key], message: 'unknown field', atKey: true });
  }
  const name = raw['name'];
  if (typeof name !== 'string' || name === '') {
    problems.push({ path: name === undefined ? ['metadata'] : ['metadata', 'name'], message: name === undefined ? 'metadata.name is required' : 'name must be a non-empty string' });
  } else {
    const p = rule === 'dns1035-label' ? dns1035LabelProblem(name) : dns1123SubdomainProblem(name);
    if (p !== undefined) problems.push({ path: ['metadata', 'name'], message: `name ${p}` });
  }
  let namespace = namespaced ? 'default' : '';
  const ns = raw['namespace'];
  if (ns !== undefined && ns !== null) {
    if (!namespaced) problems.push({ path: ['metadata', 'namespace'], message: 'this kind is cluster-scoped and has no namespace' });
    else if (typeof ns !== 'string') problems.push({ path: ['metadata', 'namespace'], message: 'namespace must be a string' });
    else {
      const p = dns1123LabelProblem(ns);
      if (p !== undefined) problems.push({ path: ['metadata', 'namespace'], message: `namespace ${p}` });
      namespace = ns;
    }
  }
  const labels = stringMap(raw['labels'], 'labels', problems);
  const annotations = stringMap(raw['annotations'], 'annotations', problems);
  if (problems.length > before || typeof name !== 'string') return undefined;
  return { name, namespace, labels, annotations };
}
