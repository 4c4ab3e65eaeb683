// Key generation in headless Chromium through WebCrypto, with the parameters the pickup page
// uses (crates/signet-web/js/src/csr.js), on a page of a running Signet (http://127.0.0.1 is a
// secure context). Run by scripts/bench-browser-keys:
//   SIGNET_URL=http://127.0.0.1:PORT KEYS=20 node bench_keys.mjs
// Prints one line per key type: `TYPE MEDIAN_MS P90_MS MEAN_MS`.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(process.env.SIGNET_URL + "/");
  const rows = await page.evaluate(async (keys) => {
    const types = {
      "rsa-3072": { name: "RSASSA-PKCS1-v1_5", modulusLength: 3072 },
      "rsa-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048 },
      "p-256": { name: "ECDSA", namedCurve: "P-256" },
      "p-384": { name: "ECDSA", namedCurve: "P-384" },
    };
    const out = [];
    for (const [type, params] of Object.entries(types)) {
      const algorithm = params.modulusLength
        ? { ...params, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
        : params;
      const millis = [];
      for (let i = 0; i < keys; i++) {
        const start = performance.now();
        await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
        millis.push(performance.now() - start);
      }
      millis.sort((a, b) => a - b);
      const mean = millis.reduce((a, b) => a + b, 0) / millis.length;
      out.push(
        `${type} ${millis[Math.floor(keys / 2)].toFixed(2)} ${millis[Math.floor((keys * 9) / 10)].toFixed(2)} ${mean.toFixed(2)}`,
      );
    }
    return out;
  }, Number(process.env.KEYS || 20));
  console.log(rows.join("\n"));
} finally {
  await browser.close();
}
