/**
 * The one place @peculiar/x509 is initialised: it needs reflect-metadata loaded before use and a WebCrypto
 * provider; Node 20 has WebCrypto built in, so no polyfill is involved. Identity modules import x509 from here
 * so the setup can never be forgotten.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
