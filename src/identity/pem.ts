/**
 * PEM text in and out. Certificates travel as PEM between the CA, the proxy and node:tls; bundles are
 * several certificates in one text.
 */
import { WeftError } from '../errors.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Every PEM block in `text`, in order. Text between blocks (openssl's "Bag Attributes" etc.) is ignored. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new WeftError('CERT_INVALID', `PEM block "${m[1] ?? ''}" is not valid base64`);
    }
    blocks.push({ label: m[1] ?? '', der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The CERTIFICATE blocks of a bundle, each re-encoded as its own PEM. */
export function splitPemCertificates(text: string): string[] {
  return decodePemBlocks(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => encodePem('CERTIFICATE', b.der));
}
