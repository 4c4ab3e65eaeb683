// PKCS#12 (RFC 7292) files built in the page from a WebCrypto key: the key in a
// pkcs8ShroudedKeyBag, the certificate and its chain in an encrypted SafeContents, a MAC over
// the whole. Two encodings, as the server makes them (crates/signet-pki/src/pkcs12.rs):
// - modern: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) and an HMAC-SHA-256 MAC;
// - legacy: pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA-1 MAC, for old Windows and
//   macOS Keychain. WebCrypto has no 3DES (PKI.js#211, forge#425): des.js does it, and the
//   PKCS#12 key derivation (appendix B) is written here over @noble/hashes.
// pkijs writes PFX files only with PBES2 and 64-byte salts (which Windows dislikes), so the
// structures are composed with asn1js directly.

import * as asn1js from "asn1js";
import des from "des.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  pbeSha3Des: "1.2.840.113549.1.12.1.3",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
};

/** The server's PFX password alphabet (crates/signet-app/src/credentials.rs; the test checks). */
export const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 20 characters from 62 (≈ 119 bits), as the server's PFX passwords (S/MIME BRs §6.1.2). */
export function pfxPassword() {
  let out = "";
  while (out.length < 20) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) {
      // Rejection sampling keeps the distribution uniform: 248 = 4 × 62.
      if (b < 248 && out.length < 20) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** Iterations of the key derivations and the MAC: the server's figure (the test checks). */
export const ITERATIONS = 10000;

const seq = (...value) => new asn1js.Sequence({ value });
const oid = (value) => new asn1js.ObjectIdentifier({ value });
const octets = (bytes) => new asn1js.OctetString({ valueHex: bytes });
const int = (value) => new asn1js.Integer({ value });
const explicit0 = (...value) =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value });
const der = (node) => new Uint8Array(node.toBER(false));

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The password as PKCS#12 hashes it: BMPString (UTF-16BE) with a terminating NUL. */
export function bmpPassword(password) {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    out[2 * i] = c >> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}

/**
 * RFC 7292 appendix B.2: `length` bytes of key material for `id` (1 key, 2 IV, 3 MAC key).
 * `hash` is a @noble/hashes function with `outputLen` and `blockLen`.
 */
export function pkcs12Kdf(hash, id, password, salt, iterations, length) {
  const u = hash.outputLen;
  const v = hash.blockLen;
  const fill = (bytes) => {
    if (bytes.length === 0) return new Uint8Array(0);
    const out = new Uint8Array(v * Math.ceil(bytes.length / v));
    for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length];
    return out;
  };
  const D = new Uint8Array(v).fill(id);
  const I = concat(fill(salt), fill(bmpPassword(password)));
  const out = new Uint8Array(length);
  for (let done = 0; done < length; done += u) {
    let A = hash(concat(D, I));
    for (let r = 1; r < iterations; r++) A = hash(A);
    out.set(A.subarray(0, Math.min(u, length - done)), done);
    if (done + u >= length) break;
    const B = fill(A);
    // Each v-byte block of I becomes (I_j + B + 1) mod 2^(8v).
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k] + B[k] + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out;
}

function random(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Encrypts `plain` for a bag or a SafeContents; returns [AlgorithmIdentifier, ciphertext]. */
async function encrypt(plain, password, legacy) {
  const salt = random(16);
  if (legacy) {
    const key = pkcs12Kdf(sha1, 1, password, salt, ITERATIONS, 24);
    const iv = pkcs12Kdf(sha1, 2, password, salt, ITERATIONS, 8);
    const cipher = des.CBC.instantiate(des.EDE).create({ type: "encrypt", key, iv });
    const body = cipher.update(Array.from(plain)).concat(cipher.final());
    return [seq(oid(OID.pbeSha3Des), seq(octets(salt), int(ITERATIONS))), new Uint8Array(body)];
  }
  const iv = random(16);
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  const key = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations: ITERATIONS, hash: "SHA-256" },
    base,
    { name: "AES-CBC", length: 256 },
    false,
    ["encrypt"],
  );
  const body = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plain));
  const algorithm = seq(
    oid(OID.pbes2),
    seq(
      seq(
        oid(OID.pbkdf2),
        seq(octets(salt), int(ITERATIONS), seq(oid(OID.hmacWithSha256), new asn1js.Null())),
      ),
      seq(oid(OID.aes256Cbc), octets(iv)),
    ),
  );
  return [algorithm, body];
}

function attributes(friendlyName, localKeyId) {
  return new asn1js.Set({
    value: [
      seq(
        oid(OID.friendlyName),
        new asn1js.Set({ value: [new asn1js.BmpString({ value: friendlyName })] }),
      ),
      seq(oid(OID.localKeyId), new asn1js.Set({ value: [octets(localKeyId)] })),
    ],
  });
}

/**
 * The PFX for a PKCS#8 private key (DER), its certificate and the chain (DER, issuing CA
 * first), protected by `password`; `legacy` picks the 3DES/SHA-1 encoding.
 */
export async function buildPfx({ pkcs8, certificate, chain, friendlyName, password, legacy }) {
  // Pairs the key bag with the certificate bag, as the server's PFX does.
  const localKeyId = new Uint8Array(
    await crypto.subtle.digest("SHA-256", certificate),
  ).subarray(0, 20);
  const certBag = (cert, attrs) => {
    const bag = [oid(OID.certBag), explicit0(seq(oid(OID.x509Certificate), explicit0(octets(cert))))];
    if (attrs) bag.push(attrs);
    return seq(...bag);
  };
  const certs = seq(
    certBag(certificate, attributes(friendlyName, localKeyId)),
    ...chain.map((c) => certBag(c)),
  );
  const [certAlgorithm, certCipher] = await encrypt(der(certs), password, legacy);
  const encryptedCerts = seq(
    oid(OID.encryptedData),
    explicit0(
      seq(
        int(0),
        seq(
          oid(OID.data),
          certAlgorithm,
          new asn1js.Primitive({
            idBlock: { tagClass: 3, tagNumber: 0 },
            valueHex: certCipher,
          }),
        ),
      ),
    ),
  );
  const [keyAlgorithm, keyCipher] = await encrypt(new Uint8Array(pkcs8), password, legacy);
  const keyBag = seq(
    oid(OID.pkcs8ShroudedKeyBag),
    explicit0(seq(keyAlgorithm, octets(keyCipher))),
    attributes(friendlyName, localKeyId),
  );
  const keyData = seq(oid(OID.data), explicit0(octets(der(seq(keyBag)))));
  const authenticatedSafe = der(seq(encryptedCerts, keyData));

  const hash = legacy ? sha1 : sha256;
  const macSalt = random(16);
  const macKey = pkcs12Kdf(hash, 3, password, macSalt, ITERATIONS, hash.outputLen);
  const mac = hmac(hash, macKey, authenticatedSafe);
  const pfx = seq(
    int(3),
    seq(oid(OID.data), explicit0(octets(authenticatedSafe))),
    seq(
      seq(seq(oid(legacy ? OID.sha1 : OID.sha256), new asn1js.Null()), octets(mac)),
      octets(macSalt),
      int(ITERATIONS),
    ),
  );
  return der(pfx);
}
