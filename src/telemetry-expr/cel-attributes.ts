/**
 * Which request attributes a Telemetry CEL expression reads (Envoy's attribute names: `request.headers`,
 * `response.code`, `node.metadata`, …), found by walking the parsed expression once at apply. A metric tag's value
 * may only read attributes whose values config and identities bound (so the number of series stays bounded by the
 * mesh's size); an access-log filter may also read what the client sent, since it only chooses lines.
 */
import { createRequire } from 'node:module';
import type * as Cel from '@bufbuild/cel';

type Expr = ReturnType<typeof Cel.parse>['expr'];

// The CEL parser is loaded at the first expression, synchronously because schema checks are: a control plane whose
// Telemetry resources have no expressions (most) never loads its 250 modules (3.7 MiB of its heap).
const require = createRequire(import.meta.url);
let celParse: typeof Cel.parse | undefined;
function parse(text: string): ReturnType<typeof Cel.parse> {
  celParse ??= (require('@bufbuild/cel') as typeof Cel).parse;
  return celParse(text);
}

/** Attributes whose values come from config or a verified identity: a tag may read them. */
export const BOUNDED_ATTRIBUTES: readonly string[] = [
  'request.protocol',
  'response.code',
  'response.grpc_status',
  'response.flags',
  'connection.mtls',
  'connection.uri_san_peer_certificate',
  'connection.uri_san_local_certificate',
  'node.metadata',
  'xds.cluster_name',
];

/** Attributes an access-log filter may read besides the bounded ones: the request as the client sent it, sizes, timing. */
export const REQUEST_ATTRIBUTES: readonly string[] = [
  'request.headers',
  'request.url_path',
  'request.path',
  'request.host',
  'request.method',
  'request.scheme',
  'request.useragent',
  'request.id',
  'request.referer',
  'request.query',
  'request.size',
  'request.total_size',
  'response.size',
  'response.total_size',
  'response.code_details',
  'upstream.address',
];

const ROOTS = new Set([...BOUNDED_ATTRIBUTES, ...REQUEST_ATTRIBUTES].map((a) => a.split('.')[0]!));

/**
 * The attribute paths an expression reads, each cut to its first two segments (`request.headers`, `response.code`);
 * a root read whole (`request`) is itself. Names a comprehension binds are not attributes.
 */
export function attributesRead(expr: Expr): Set<string> {
  const out = new Set<string>();
  walk(expr, new Set(), out);
  return out;
}

/** `a.b.c` as a path when the operand chain is names and fields only; undefined otherwise. */
function selectPath(e: Expr | undefined): string[] | undefined {
  if (e === undefined) return undefined;
  const k = e.exprKind;
  if (k.case === 'identExpr') return [k.value.name];
  if (k.case === 'selectExpr' && !k.value.testOnly) {
    const p = selectPath(k.value.operand);
    return p === undefined ? undefined : [...p, k.value.field];
  }
  return undefined;
}

function record(path: string[], bound: ReadonlySet<string>, out: Set<string>): void {
  if (bound.has(path[0]!)) return;
  out.add(path.slice(0, 2).join('.'));
}

function walk(e: Expr | undefined, bound: ReadonlySet<string>, out: Set<string>): void {
  if (e === undefined) return;
  const k = e.exprKind;
  switch (k.case) {
    case 'identExpr':
      record([k.value.name], bound, out);
      return;
    case 'selectExpr': {
      const p = selectPath(e);
      if (p !== undefined) record(p, bound, out);
      else walk(k.value.operand, bound, out);
      return;
    }
    case 'callExpr':
      walk(k.value.target, bound, out);
      for (const a of k.value.args) walk(a, bound, out);
      return;
    case 'listExpr':
      for (const el of k.value.elements) walk(el, bound, out);
      return;
    case 'structExpr':
      for (const en of k.value.entries) {
        if (en.keyKind.case === 'mapKey') walk(en.keyKind.value, bound, out);
        walk(en.value, bound, out);
      }
      return;
    case 'comprehensionExpr': {
      const c = k.value;
      walk(c.iterRange, bound, out);
      walk(c.accuInit, bound, out);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((n) => n !== ''));
      walk(c.loopCondition, inner, out);
      walk(c.loopStep, inner, out);
      walk(c.result, inner, out);
      return;
    }
    default:
      return;
  }
}

export type ExpressionUse = 'tag' | 'filter';

/** Why an expression may not be used where it is written, or undefined when it may. */
export function expressionProblem(source: string, use: ExpressionUse): { code: 'CEL_SYNTAX' | 'CEL_UNKNOWN_ATTRIBUTE' | 'CEL_UNBOUNDED_TAG'; message: string } | undefined {
  let expr: Expr;
  try {
    expr = parse(source).expr;
  } catch (err) {
    return { code: 'CEL_SYNTAX', message: `not a CEL expression: ${(err as Error).message}` };
  }
  const allowed = new Set(use === 'tag' ? BOUNDED_ATTRIBUTES : [...BOUNDED_ATTRIBUTES, ...REQUEST_ATTRIBUTES]);
  for (const a of attributesRead(expr)) {
    if (allowed.has(a)) continue;
    if (use === 'tag' && REQUEST_ATTRIBUTES.includes(a)) {
      return {
        code: 'CEL_UNBOUNDED_TAG',
        message: `${a} is what the client sent: a metric tag made from it has as many values as clients choose, so the number of series is unbounded; a tag may read only ${BOUNDED_ATTRIBUTES.join(', ')}`,
      };
    }
    if (use === 'tag' && ROOTS.has(a)) {
      return { code: 'CEL_UNBOUNDED_TAG', message: `${a} reads the whole ${a} (or its raw data): a metric tag may read only ${BOUNDED_ATTRIBUTES.join(', ')}` };
    }
    return { code: 'CEL_UNKNOWN_ATTRIBUTE', message: `unknown attribute ${a}: weft provides ${[...allowed].join(', ')}` };
  }
  return undefined;
}
