/** `weft analyze -f` as a CI job runs it: exact output, exit 1 on an error, 0 on warnings alone or nothing. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-analyze-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

async function analyze(yaml: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, yaml);
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'analyze', '-f', file, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr: stderr.replace(file, 'config.yaml') });
    });
  });
}

const GHOST_RULE = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ghost, namespace: shop }\nspec:\n  host: ghost\n';
const WEB_PORT = 'apiVersion: v1\nkind: Service\nmetadata: { name: cart, namespace: shop }\nspec:\n  ports: [{ name: web, port: 80 }]\n';

test('an error: exit 1, the finding with its file:line and fix', async () => {
  const r = await analyze(GHOST_RULE);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.replaceAll(path.join(dir, 'config.yaml'), 'config.yaml'),
    'Error [KIA0202] DestinationRule shop/ghost (config.yaml:5:9) spec.host: This host has no matching entry in the service registry (service, workload or service entries): ghost\n'
    + '  fix: apply the Service or ServiceEntry for this host, or correct the host name\n'
    + '1 error(s), 0 warning(s), 0 info\n');
});

test('-o json: the findings as data', async () => {
  const r = await analyze(GHOST_RULE, '-o', 'json');
  assert.equal(r.code, 1);
  const [f] = (JSON.parse(r.stdout) as { findings: Record<string, unknown>[] }).findings;
  assert.deepEqual(f, {
    code: 'KIA0202',
    severity: 'error',
    object: { kind: 'DestinationRule', namespace: 'shop', name: 'ghost' },
    message: 'This host has no matching entry in the service registry (service, workload or service entries): ghost',
    fix: 'apply the Service or ServiceEntry for this host, or correct the host name',
    field: 'spec.host',
    source: { file: path.join(dir, 'config.yaml'), line: 5, column: 9 },
  });
});

test('info alone exits 0; nothing at all says so', async () => {
  const info = await analyze(WEB_PORT);
  assert.equal(info.code, 0);
  assert.match(info.stdout, /^Info \[IST0118\] Service shop\/cart /);
  const clean = await analyze(WEB_PORT.replace('name: web', 'name: http'));
  assert.deepEqual(clean, { code: 0, stdout: '✔ No validation issues found.\n', stderr: '' });
});
