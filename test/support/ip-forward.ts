/**
 * The host's IPv4 forwarding, which a netns mesh turns on if it was off and turns back at its stop: the value from
 * before any mesh on this machine, and a check that it is back.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { run } from './netns-traces.js';

export const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** Where the meshes on this machine keep the value from before the first of them (another may be running). */
const FORWARDING_BEFORE_WEFT = '/run/weft/ip-forward-before-weft';

/** Forwarding as it was before any mesh on this machine: read at a test file's start, before its meshes. */
export function forwardingBeforeWeft(): string {
  return fs.readFileSync(fs.existsSync(FORWARDING_BEFORE_WEFT) ? FORWARDING_BEFORE_WEFT : IP_FORWARD, 'utf8').trim();
}

/** Forwarding is back as it was before any mesh, unless another mesh's bridge is up: that one restores it at its stop. */
export async function assertForwardingRestored(forwardingBefore: string): Promise<void> {
  const bridges = (await run('ip', ['-o', 'link', 'show', 'type', 'bridge'])).stdout;
  if (/ weft0-[0-9a-f]{6}[:@]/.test(bridges)) return;
  assert.equal(fs.readFileSync(IP_FORWARD, 'utf8').trim(), forwardingBefore, 'net.ipv4.ip_forward is back to its value before the mesh');
}
