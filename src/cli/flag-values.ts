/**
 * Parsers for flag values, checked when the command line is read so a bad value is refused before anything runs,
 * in one line that names the flag: commander prints `error: option '--ingress-port <port>' argument '99999' is
 * invalid. <reason>` for the InvalidArgumentError each of these throws.
 */
import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { tryParseDuration } from '../config/duration.js';
import { dns1123LabelProblem } from '../config/metadata.js';
import { validateTrustDomain } from '../identity/spiffe-id.js';
import { parseCidr, parseIPv4 } from '../mesh/netns/pod-subnet.js';
import { headerLineProblem, methodProblem, queryParamProblem } from '../route-check/checked-request.js';

/** A TCP port to listen on or connect to: 1 to 65535, digits only (Number() would take "0x50" and "8e3"). */
export function portNumber(value: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new InvalidArgumentError('A port is a number from 1 to 65535.');
  return n;
}

/** A file that must exist now (a certificate, a key, a request). */
export function existingFile(value: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(code === 'ENOENT' ? 'No such file.' : `Cannot read it (${code ?? (err as Error).message}).`);
  }
  if (!stat.isFile()) throw new InvalidArgumentError('It is not a file.');
  return value;
}

/** A file or directory that must exist now, or `-` for standard input. */
export function existingPathOrStdin(value: string): string {
  if (value === '-') return value;
  if (!fs.existsSync(value)) throw new InvalidArgumentError('No such file or directory.');
  return value;
}

/** An IPv4 network in CIDR notation without host bits. */
export function ipv4Cidr(value: string): string {
  try {
    parseCidr(value);
  } catch {
    throw new InvalidArgumentError('Expected an IPv4 CIDR with no host bits set, like 198.18.0.0/15.');
  }
  return value;
}

/** An IPv4 address and a port, `127.0.0.1:15012`. */
export function ipv4HostPort(value: string): string {
  const colon = value.lastIndexOf(':');
  if (colon < 0 || parseIPv4(value.slice(0, colon)) === undefined) throw new InvalidArgumentError('Expected an IPv4 address and a port, like 127.0.0.1:15012.');
  portNumber(value.slice(colon + 1));
  return value;
}

/** A Kubernetes namespace name. */
export function namespaceName(value: string): string {
  const problem = dns1123LabelProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`A namespace ${problem}.`);
  return value;
}

/** A SPIFFE trust domain. */
export function trustDomain(value: string): string {
  try {
    validateTrustDomain(value);
  } catch (err) {
    // The validator speaks of SPIFFE IDs; here only the trust domain was given.
    throw new InvalidArgumentError(`${(err as Error).message.replace(/^invalid SPIFFE ID "[^"]*": /, '')}.`);
  }
  return value;
}

/** Repeatable `-f PATH`: each must exist (or be `-`), collected in order. */
export function collectExistingPaths(value: string, previous: string[] = []): string[] {
  return [...previous, existingPathOrStdin(value)];
}

/** A positive duration in Istio's form (`90s`, `1h`, `720h`), in milliseconds. */
export function positiveDuration(value: string): number {
  const ms = tryParseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('Expected a positive duration like 30s, 10m or 720h.');
  return ms;
}

function checked(problem: (v: string) => string | undefined): (value: string) => string {
  return (value) => {
    const p = problem(value);
    if (p !== undefined) throw new InvalidArgumentError(p);
    return value;
  };
}

/** An HTTP method token (`GET`, `POST`, ...). */
export const httpMethod = checked(methodProblem);

/** Repeatable `-H 'name: value'`, collected in order. */
export function collectHeaderLines(value: string, previous: string[] = []): string[] {
  return [...previous, checked(headerLineProblem)(value)];
}

/** Repeatable `--query name=value`, collected in order. */
export function collectQueryParams(value: string, previous: string[] = []): string[] {
  return [...previous, checked(queryParamProblem)(value)];
}

/** `--publish GATEWAY_PORT=HOST_PORT`, collected across repeats; a gateway port given twice is refused. */
export function portMapping(value: string, prior: Map<number, number> | undefined): Map<number, number> {
  const eq = value.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`"${value}" is not GATEWAY_PORT=HOST_PORT`);
  const from = portNumber(value.slice(0, eq));
  const to = portNumber(value.slice(eq + 1));
  const out = new Map(prior);
  if (out.has(from)) throw new InvalidArgumentError(`gateway port ${from} is published twice`);
  out.set(from, to);
  return out;
}
