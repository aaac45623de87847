/**
 * URI subject alternative names read from a DER Extensions SEQUENCE, shared by CSR acceptance and SVID
 * reading. Every SAN extension counts: a second one must not smuggle in a second identity.
 */
import { DerError, TAG, children, contents, decodeOid, expectTlv } from './der.js';
import type { Tlv } from './der.js';

const OID_SAN = '2.5.29.17';
const GENERAL_NAME_URI = 0x86;

export function uriSansOf(der: Uint8Array, extensions: Tlv): string[] {
  const uris: string[] = [];
  for (const extension of children(der, extensions)) {
    const parts = children(der, extension);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id?.tag !== TAG.OID || value?.tag !== TAG.OCTET_STRING) throw new DerError('malformed extension');
    if (decodeOid(contents(der, id)) !== OID_SAN) continue;
    const names = expectTlv(der, value.start, TAG.SEQUENCE, value.end);
    for (const name of children(der, names)) {
      if (name.tag === GENERAL_NAME_URI) uris.push(Buffer.from(contents(der, name)).toString('latin1'));
    }
  }
  return uris;
}
