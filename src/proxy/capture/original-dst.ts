/**
 * The destination a captured connection was dialled to, before iptables redirected it to the sidecar. Node has no
 * API for SO_ORIGINAL_DST, so this reads it through the small native addon in native/original-dst (built at
 * install). Where the addon is missing (no compiler at install, not Linux) every call answers undefined and
 * `originalDstAvailable()` says why, so callers can refuse transparent capture plainly instead of misrouting.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface OriginalDst {
  address: string;
  port: number;
}

interface OriginalDstAddon {
  originalDst(fd: number): OriginalDst;
}

const ADDON_PATH = fileURLToPath(new URL('../../../../native/original-dst/build/Release/original_dst.node', import.meta.url));

let loaded: { addon: OriginalDstAddon } | { reason: string } | undefined;

function load(): { addon: OriginalDstAddon } | { reason: string } {
  if (loaded) return loaded;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as OriginalDstAddon;
    loaded = typeof addon.originalDst === 'function' ? { addon } : { reason: `${ADDON_PATH} does not export originalDst` };
  } catch (err) {
    loaded = { reason: `native addon not built (${(err as Error).message.split('\n')[0]})` };
  }
  return loaded;
}

/** Undefined when the addon can be used; otherwise why not. */
export function originalDstUnavailableReason(): string | undefined {
  const l = load();
  return 'reason' in l ? l.reason : undefined;
}

export function originalDstAvailable(): boolean {
  return originalDstUnavailableReason() === undefined;
}

/** The kernel's file descriptor behind a connected socket; libuv keeps it on the (undocumented) handle. */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Where this accepted connection was headed before it was redirected. For a connection that was not redirected
 * it is the socket's own local address (conntrack's original destination). Undefined when the addon is
 * unavailable, the socket has no descriptor (closed, or not a TCP socket), or conntrack has no record of it.
 */
export function originalDst(socket: net.Socket): OriginalDst | undefined {
  const l = load();
  if ('reason' in l) return undefined;
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  try {
    return l.addon.originalDst(fd);
  } catch {
    // ENOENT: no conntrack entry; ENOPROTOOPT: not an IP socket.
    return undefined;
  }
}
