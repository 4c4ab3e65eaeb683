// The page's key pairs, requests and PFX files, judged by openssl and NSS's pk12util.
// Run: npm test (scripts/test runs it before the browser suite).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { buildCsr, generateKey, pem, pemBlocks } from "../src/csr.js";
import { ALPHABET, ITERATIONS, buildPfx, pfxPassword } from "../src/pkcs12.js";

const dir = mkdtempSync(join(tmpdir(), "signet-pfx-"));
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...opts });

// A throw-away CA that signs the page's requests.
run("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
  "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.pem"), "-subj", "/CN=Test CA", "-days", "2",
]);

const cases = [
  ["p-256", false],
  ["p-384", true],
  ["rsa-2048", true],
  ["rsa-2048", false],
];

for (const [type, legacy] of cases) {
  const mode = legacy ? "legacy" : "modern";
  test(`${type} ${mode}: the request verifies and the PFX opens in openssl and pk12util`, async () => {
    const keys = await generateKey(type);
    const csr = buildCsr(keys, type);
    const csrPath = join(dir, `${type}-${mode}.csr`);
    writeFileSync(csrPath, pem("CERTIFICATE REQUEST", await csr));
    const verified = spawnSync("openssl", ["req", "-verify", "-noout", "-in", csrPath], {
      encoding: "utf8",
    });
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout + verified.stderr, /verify OK/);
    const certPath = join(dir, `${type}-${mode}.pem`);
    run("openssl", [
      "x509", "-req", "-in", csrPath, "-CA", join(dir, "ca.pem"), "-CAkey", join(dir, "ca.key"),
      "-out", certPath, "-days", "1",
    ]);
    const [certificate] = pemBlocks(readFileSync(certPath, "utf8"));
    const [ca] = pemBlocks(readFileSync(join(dir, "ca.pem"), "utf8"));
    const password = "Xk7-pQ2 wér9"; // a space and a non-ASCII letter on purpose
    const pfx = await buildPfx({
      pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
      certificate,
      chain: [ca],
      friendlyName: "Anna Peeters (Signet)",
      password,
      legacy,
    });
    const pfxPath = join(dir, `${type}-${mode}.p12`);
    writeFileSync(pfxPath, pfx);

    // openssl writes what -info finds to standard error.
    const opened = spawnSync(
      "openssl",
      ["pkcs12", "-in", pfxPath, "-info", "-nodes", "-passin", `pass:${password}`],
      { encoding: "utf8" },
    );
    assert.equal(opened.status, 0, opened.stderr);
    const info = opened.stdout + opened.stderr;
    if (legacy) {
      assert.match(info, /MAC: sha1/);
      assert.match(info, /pbeWithSHA1And3-KeyTripleDES-CBC/);
    } else {
      assert.match(info, /MAC: sha256/);
      assert.match(info, /PBES2, PBKDF2, AES-256-CBC/);
    }
    assert.match(info, /friendlyName: Anna Peeters \(Signet\)/);
    assert.equal((info.match(/BEGIN CERTIFICATE/g) || []).length, 2, "certificate and chain");

    // The key in the PFX is the certificate's.
    const keyPath = join(dir, `${type}-${mode}.key`);
    run("openssl", [
      "pkcs12", "-in", pfxPath, "-nocerts", "-nodes", "-passin", `pass:${password}`, "-out", keyPath,
    ]);
    assert.equal(
      run("openssl", ["pkey", "-in", keyPath, "-pubout"]),
      run("openssl", ["x509", "-in", certPath, "-noout", "-pubkey"]),
    );

    // A wrong password is refused.
    assert.throws(() =>
      run("openssl", ["pkcs12", "-in", pfxPath, "-noout", "-passin", "pass:wrong"]),
    );

    // NSS imports it.
    const nss = mkdtempSync(join(dir, "nss-"));
    run("certutil", ["-N", "-d", `sql:${nss}`, "--empty-password"]);
    run("pk12util", ["-i", pfxPath, "-d", `sql:${nss}`, "-W", password]);
    assert.match(run("certutil", ["-K", "-d", `sql:${nss}`]), /Anna Peeters \(Signet\)/);
  });
}

// The page makes its PFX files by the server's rules: one source of truth, checked here.
test("the page's PFX rules are the server's", () => {
  const rust = (path) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");
  const iterations = rust("signet-pki/src/pkcs12.rs").match(/const ITERATIONS: u32 = ([0-9_]+);/);
  assert.equal(Number(iterations[1].replaceAll("_", "")), ITERATIONS);
  const alphabet = rust("signet-app/src/credentials.rs").match(/const ALPHABET: &\[u8\] = b"([^"]+)";/);
  assert.equal(alphabet[1], ALPHABET);
  for (let i = 0; i < 50; i++) assert.match(pfxPassword(), /^[A-Za-z0-9]{20}$/);
});
