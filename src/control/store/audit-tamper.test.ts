/**
 * The audit chain against tampering, on a real SQLite file edited through a second connection (as someone with
 * the file but not the audit key would) and on a real exported JSON-lines file: an edited, a removed and a
 * reordered entry are each named, a tail rewritten with fresh hashes is caught by a signed head, and a store cut
 * back past the last signed head is caught by the head kept outside it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { auditVerifierKey, loadOrCreateAuditKey, AUDIT_PUBLIC_KEY_FILE } from '../../identity/audit-key.js';
import type { AuditSigner } from '../../identity/audit-key.js';
import { headSignatureChecker, readHeadFile, signAuditHead } from '../audit-head.js';
import { parseJsonLines } from '../../cli/audit.js';
import { sealEntry, verifyChain } from './audit-chain.js';
import type { AuditEntry, ChainReport } from './audit-chain.js';
import { canonicalJson } from './resource-content.js';
import { openSqliteStore } from './sqlite-store.js';

const svc = (name: string, port: number) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', labels: {}, annotations: {} },
  spec: { ports: [{ port }] },
});

let dir: string;
let signer: AuditSigner;
let checkSignature: ReturnType<typeof headSignatureChecker>;
let clockNow = Date.UTC(2026, 5, 1);
const clock = (): number => (clockNow += 1000);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-audit-'));
  signer = loadOrCreateAuditKey(path.join(dir, 'ca'));
  checkSignature = headSignatureChecker(auditVerifierKey(fs.readFileSync(path.join(dir, 'ca', AUDIT_PUBLIC_KEY_FILE), 'utf8')));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A store file with six entries: four changes, a push ACK, a refusal; a signed head after them when asked. */
async function makeStore(name: string, signed: boolean): Promise<{ file: string; headFile: string }> {
  const file = path.join(dir, `${name}.db`);
  const headFile = path.join(dir, `${name}-head.json`);
  const store = openSqliteStore(file, { clock });
  await store.apply([svc('a', 1), svc('b', 2)], { name: 'alice', credentialId: 'aaaa' });
  await store.apply([svc('a', 3)], 'bob');
  await store.appendAudit({ type: 'push', proxy: 'sidecar/default/a', outcome: 'ack', configVersion: 'v1', configSha256: 'e'.repeat(64) });
  await store.appendAudit({ type: 'refusal', actor: { name: 'eve' }, method: 'POST', path: '/api/v1/apply', code: 'FORBIDDEN', status: 403, reason: 'viewer' });
  await store.delete([{ kind: 'Service', namespace: 'default', name: 'b' }], 'alice');
  if (signed) await signAuditHead(store, signer, headFile, clock);
  await store.close();
  return { file, headFile };
}

/** What `weft audit verify` checks for the live store: the chain as stored, and the head file beside it. */
async function verifyStore(file: string, headFile: string): Promise<ChainReport> {
  const store = openSqliteStore(file);
  try {
    const head = readHeadFile(headFile);
    return verifyChain(await store.auditLog(), { checkSignature, externalHeads: head === undefined ? [] : [head] });
  } finally {
    await store.close();
  }
}

function tamper(file: string, sql: string): void {
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

const problem = (r: ChainReport) => (r.problem === null ? null : [r.problem.kind, r.problem.seq]);

describe('audit chain in the SQLite file, edited through a second connection', () => {
  test('an untouched chain verifies, with its signed head', async () => {
    const { file, headFile } = await makeStore('clean', true);
    const report = await verifyStore(file, headFile);
    assert.deepEqual([report.ok, report.entries, report.lastSeq, report.signedHead?.seq], [true, 7, 7, 6]);
    // Nothing new since the last head: nothing to sign, the head file stays as it was.
    const written = fs.readFileSync(headFile, 'utf8');
    const store = openSqliteStore(file, { clock });
    try {
      assert.equal(await signAuditHead(store, signer, headFile, clock), undefined);
      assert.equal((await store.auditLog()).length, 7);
    } finally {
      await store.close();
    }
    assert.equal(fs.readFileSync(headFile, 'utf8'), written);
  });

  test('an edited entry is named', async () => {
    const { file, headFile } = await makeStore('edited', true);
    tamper(file, `UPDATE audit_chain SET entry = replace(entry, '"name":"bob"', '"name":"mallory"') WHERE seq = 3`);
    const report = await verifyStore(file, headFile);
    assert.deepEqual(problem(report), ['edited', 3]);
    assert.match(report.problem?.message ?? '', /entry 3 was edited/);
  });

  test('a removed entry is named', async () => {
    const { file, headFile } = await makeStore('removed', true);
    tamper(file, 'DELETE FROM audit_chain WHERE seq = 4');
    const report = await verifyStore(file, headFile);
    assert.deepEqual(problem(report), ['removed', 4]);
    assert.equal(report.problem?.message, 'entry 4 was removed (next present: 5)');
  });

  test('reordered entries are named at the first one out of place', async () => {
    const { file, headFile } = await makeStore('reordered', true);
    tamper(file, 'UPDATE audit_chain SET seq = -1 WHERE seq = 2; UPDATE audit_chain SET seq = 2 WHERE seq = 3; UPDATE audit_chain SET seq = 3 WHERE seq = -1');
    const report = await verifyStore(file, headFile);
    assert.deepEqual(problem(report), ['reordered', 2]);
    assert.equal(report.problem?.position, 2);
  });

  test('a tail rewritten with fresh, consistent hashes is caught by the signed head inside the chain', async () => {
    const { file } = await makeStore('rewritten', true);
    const db = new Database(file);
    const rows = db.prepare('SELECT entry, hash FROM audit_chain ORDER BY seq').all() as { entry: string; hash: string }[];
    const entries = rows.map((r) => ({ ...(JSON.parse(r.entry) as object), hash: r.hash }) as AuditEntry);
    // Rewrite from entry 2 on: change the actor, then reseal every entry after it so all links hold again.
    let prev = entries[0]!.hash;
    const update = db.prepare('UPDATE audit_chain SET entry = ?, hash = ? WHERE seq = ?');
    for (const e of entries.slice(1)) {
      const { hash: _h, seq, time, prev: _p, ...content } = e;
      const edited = seq === 2 && content.type === 'change' ? { ...content, actor: { name: 'mallory' } } : content;
      const sealed = sealEntry(edited, seq, time, prev);
      const { hash, ...body } = sealed;
      update.run(canonicalJson(body), hash, seq);
      prev = hash;
    }
    db.close();
    const report = await verifyStore(file, path.join(dir, 'no-such-head.json'));
    assert.deepEqual(problem(report), ['edited', 6]);
    assert.match(report.problem?.message ?? '', /entries up to 6 were rewritten after the head signed/);
  });

  test('a store cut back past its last signed head is caught by the head kept outside it', async () => {
    const { file, headFile } = await makeStore('truncated', true);
    tamper(file, 'DELETE FROM audit_chain WHERE seq > 4');
    const report = await verifyStore(file, headFile);
    assert.deepEqual(problem(report), ['truncated', 5]);
    assert.match(report.problem?.message ?? '', /the chain ends at entry 4 but a head signed at .* covers entries up to 6/);
    // Without the outside head the cut is invisible: that is what signing bounds.
    assert.equal((await verifyStore(file, path.join(dir, 'no-such-head.json'))).ok, true);
  });

  test('a head signed by another key is refused', async () => {
    const { file, headFile } = await makeStore('forged', false);
    const other = loadOrCreateAuditKey(path.join(dir, 'other-ca'));
    const store = openSqliteStore(file, { clock });
    await signAuditHead(store, other, headFile, clock);
    await store.close();
    assert.deepEqual(problem(await verifyStore(file, headFile)), ['bad-signature', 6]);
  });
});

describe('audit chain in an exported JSON-lines file', () => {
  let lines: string[];
  let head: ReturnType<typeof readHeadFile>;
  before(async () => {
    const { file, headFile } = await makeStore('export', true);
    const store = openSqliteStore(file);
    lines = (await store.auditLog()).map((e) => JSON.stringify(e));
    await store.close();
    head = readHeadFile(headFile);
  });

  function verifyFile(text: string): ChainReport {
    const file = path.join(dir, 'export.jsonl');
    fs.writeFileSync(file, text);
    const { entries } = parseJsonLines(fs.readFileSync(file, 'utf8'));
    return verifyChain(entries, { checkSignature, externalHeads: head === undefined ? [] : [head] });
  }

  test('the export verifies as written', () => {
    assert.deepEqual([verifyFile(`${lines.join('\n')}\n`).ok, lines.length], [true, 7]);
  });

  test('an edited line, a removed line and swapped lines are each named', () => {
    const edited = [...lines];
    edited[1] = edited[1]!.replace('"port":2', '"port":22');
    const removed = lines.filter((_, i) => i !== 2);
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    assert.deepEqual(problem(verifyFile(edited.join('\n'))), ['edited', 2]);
    assert.deepEqual(problem(verifyFile(removed.join('\n'))), ['removed', 3]);
    const reordered = verifyFile(swapped.join('\n'));
    assert.deepEqual([...(problem(reordered) ?? []), reordered.problem?.position], ['reordered', 4, 4]);
  });

  test('a file cut short of the signed head is truncated', () => {
    assert.deepEqual(problem(verifyFile(lines.slice(0, 5).join('\n'))), ['truncated', 6]);
  });
});
