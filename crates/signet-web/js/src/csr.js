// Key pairs made by WebCrypto and the PKCS#10 request that carries the public key to the CA.
// The CA reads only the public key from the request (the certificate's subject comes from the
// vetted order), so the subject here is a placeholder.

import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

/** The key types the CA accepts, as WebCrypto generates them (extractable: the PFX needs it). */
export const KEY_TYPES = {
  "p-256": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
  "p-384": { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
  "rsa-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, hash: "SHA-256" },
  "rsa-3072": { name: "RSASSA-PKCS1-v1_5", modulusLength: 3072, hash: "SHA-256" },
};

/** Generates a key pair of `type` (a key of KEY_TYPES). */
export async function generateKey(type) {
  const params = KEY_TYPES[type];
  if (!params) throw new Error(`unknown key type ${type}`);
  const algorithm =
    params.name === "ECDSA"
      ? { name: "ECDSA", namedCurve: params.namedCurve }
      : {
          name: params.name,
          modulusLength: params.modulusLength,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: params.hash,
        };
  return crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
}

/** A PKCS#10 request (DER) for the key pair, signed with it. */
export async function buildCsr(keys, type) {
  const request = new pkijs.CertificationRequest();
  request.subject.typesAndValues.push(
    new pkijs.AttributeTypeAndValue({
      type: "2.5.4.3",
      value: new asn1js.Utf8String({ value: "Signet browser key" }),
    }),
  );
  request.attributes = [];
  await request.subjectPublicKeyInfo.importKey(keys.publicKey);
  await request.sign(keys.privateKey, KEY_TYPES[type].hash);
  return new Uint8Array(request.toSchema().toBER(false));
}

/** PEM armour for DER bytes. */
export function pem(label, bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const base64 = btoa(binary).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${base64}-----END ${label}-----\n`;
}

/** The DER blocks of a PEM text, in order. */
export function pemBlocks(text) {
  const blocks = [];
  const re = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/g;
  for (const m of text.matchAll(re)) {
    const binary = atob(m[1].replace(/\s+/g, ""));
    blocks.push(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  }
  return blocks;
}
