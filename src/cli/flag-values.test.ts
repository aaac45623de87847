import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { collectExistingPaths, collectHeaderLines, collectQueryParams, existingFile, httpMethod, existingPathOrStdin, ipv4Cidr, ipv4HostPort, namespaceName, portNumber, trustDomain } from './flag-values.js';

const refused = (fn: () => unknown, reason: string): void =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && e.message === reason, reason);

test('ports are 1 to 65535, written in decimal digits', () => {
  for (const [v, n] of [['1', 1], ['8080', 8080], ['65535', 65535], ['080', 80]] as const) assert.equal(portNumber(v), n, v);
  for (const v of ['0', '65536', '99999', '-1', '', ' 80', '80 ', '0x50', '8e3', '80.0', '1000000']) refused(() => portNumber(v), 'A port is a number from 1 to 65535.');
});

test('files and paths that must exist', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-flags-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a.yaml');
  fs.writeFileSync(file, '');
  assert.equal(existingFile(file), file);
  refused(() => existingFile(path.join(dir, 'missing')), 'No such file.');
  refused(() => existingFile(dir), 'It is not a file.');
  assert.equal(existingPathOrStdin(dir), dir);
  assert.equal(existingPathOrStdin('-'), '-');
  refused(() => existingPathOrStdin(path.join(dir, 'missing')), 'No such file or directory.');
  assert.deepEqual(collectExistingPaths('-', collectExistingPaths(file, [])), [file, '-']);
});

test('networks, addresses, namespaces and trust domains', () => {
  assert.equal(ipv4Cidr('198.18.0.0/15'), '198.18.0.0/15');
  for (const v of ['198.18.0.1/15', '198.18.0.0', '198.18.0.0/33', '::1/128', 'x']) refused(() => ipv4Cidr(v), 'Expected an IPv4 CIDR with no host bits set, like 198.18.0.0/15.');
  assert.equal(ipv4HostPort('127.0.0.1:15012'), '127.0.0.1:15012');
  for (const v of ['localhost:80', '127.0.0.1', '127.0.0.256:80']) refused(() => ipv4HostPort(v), 'Expected an IPv4 address and a port, like 127.0.0.1:15012.');
  refused(() => ipv4HostPort('127.0.0.1:0'), 'A port is a number from 1 to 65535.');
  assert.equal(namespaceName('weft-system'), 'weft-system');
  refused(() => namespaceName('Bad_NS'), 'A namespace must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit.');
  assert.equal(trustDomain('example.org'), 'example.org');
  refused(() => trustDomain('Example.org'), 'trust domain must be lowercase.');
  refused(() => trustDomain('example.org:8443'), 'a port (or colon) is not allowed in the trust domain.');
});

test('request methods, header lines and query parameters for route check', () => {
  assert.equal(httpMethod('PATCH'), 'PATCH');
  for (const v of ['', 'G T', 'GET\r\n']) refused(() => httpMethod(v), 'Expected an HTTP method such as GET or POST.');
  assert.deepEqual(collectHeaderLines('b: 2', collectHeaderLines('end-user: jason')), ['end-user: jason', 'b: 2']);
  for (const v of ['novalue', ': x', 'bad name: v']) refused(() => collectHeaderLines(v), 'Expected "name: value".');
  assert.deepEqual(collectQueryParams('a', collectQueryParams('q=1')), ['q=1', 'a']);
  for (const v of ['', '=1']) refused(() => collectQueryParams(v), 'Expected name=value.');
});
