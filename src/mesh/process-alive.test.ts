import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from './process-alive.js';

test('this process is alive; a pid nobody holds is not', () => {
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(2 ** 22 + 12345), false);
});

test('a zombie, with any name, counts as exited', () => {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proc-'));
  try {
    const write = (state: string): void => {
      fs.mkdirSync(path.join(proc, String(process.pid)), { recursive: true });
      fs.writeFileSync(path.join(proc, String(process.pid), 'stat'), `${process.pid} (node (a) b) ${state} 1 2 3\n`);
    };
    write('Z');
    assert.equal(processAlive(process.pid, proc), false);
    write('S');
    assert.equal(processAlive(process.pid, proc), true);
  } finally {
    fs.rmSync(proc, { recursive: true, force: true });
  }
});
