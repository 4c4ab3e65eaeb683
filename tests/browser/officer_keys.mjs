// Officers' decision-signing keys in the browser (issue 15, item 3): headless Chromium opens a
// vetting officer's pages with their session, and officer.js makes a P-256 key that WebCrypto
// will not export, enrols it and signs the approval; a second browser of the same officer gets a
// key that waits for an administrator, and its unsigned decision is refused until an
// administrator approves the key on the administration page. Run by
// crates/signet-cli/tests/portal.rs:
//   SIGNET_URL=http://127.0.0.1:PORT SESSION=<officer's token> ADMIN_SESSION=<admin's token> \
//   FIRST=<order> SECOND=<order> \
//   OUT=<report.json> node officer_keys.mjs
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.SIGNET_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});

/** A browser profile of its own (its own IndexedDB) logged in as the officer. */
async function officerBrowser() {
  const context = await browser.newContext();
  await context.addCookies([{ name: "signet_session", value: process.env.SESSION, url }]);
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => sent.push({ method: r.method(), url: r.url(), body: r.postData() || "" }));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, sent, errors };
}

async function keyState(page) {
  await page.waitForFunction(() => window.signetOfficer && window.signetOfficer.state, null, { timeout: 30000 });
  return page.evaluate(() => window.signetOfficer);
}

const report = {};
try {
  // The first browser: the key is made, enrolled (certified at once) and signs the approval.
  const first = await officerBrowser();
  await first.page.goto(`${url}/vetting/orders/${process.env.FIRST}`);
  const state = await keyState(first.page);
  assert.equal(state.state, "active", JSON.stringify(state));
  // What IndexedDB holds: a CryptoKey WebCrypto refuses to export.
  const stored = await first.page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open("signet-officer", 1);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const record = await new Promise((resolve) => {
      const get = db.transaction("keys").objectStore("keys").getAll();
      get.onsuccess = () => resolve(get.result[0]);
    });
    const key = record.keys.privateKey;
    let exported = "exported";
    for (const format of ["pkcs8", "jwk"]) {
      try {
        await crypto.subtle.exportKey(format, key);
      } catch (e) {
        exported = `refused: ${e.name}`;
      }
    }
    return { extractable: key.extractable, algorithm: key.algorithm, usages: key.usages, exported };
  });
  assert.equal(stored.extractable, false);
  assert.equal(stored.algorithm.namedCurve, "P-256");
  assert.match(stored.exported, /^refused/);
  report.stored = stored;
  await first.page.getByText(/Your decisions are signed with this browser's key/).waitFor();
  await first.page.getByRole("button", { name: "Approve" }).click();
  await first.page.getByText("Decision recorded: the order is now ready for pickup.").waitFor();
  const decision = first.sent.find((r) => r.method === "POST" && r.url.endsWith("/decision"));
  const form = new URLSearchParams(decision.body);
  assert.equal(form.get("action"), "approve");
  report.statement = form.get("statement");
  report.signature = form.get("signature");
  report.firstRequests = first.sent.map((r) => ({ method: r.method, url: r.url, body: r.body }));
  assert.deepEqual(first.errors, []);

  // A second browser: another key, which waits; an unsigned decision from it is refused.
  const second = await officerBrowser();
  await second.page.goto(`${url}/vetting/orders/${process.env.SECOND}`);
  const pending = await keyState(second.page);
  assert.equal(pending.state, "pending", JSON.stringify(pending));
  await second.page.getByText(/waits for an administrator's approval/).waitFor();
  await second.page.getByRole("button", { name: "Approve" }).click();
  const refusal = await second.page.getByRole("alert").textContent();
  assert.match(refusal, /must be signed/);
  report.pendingKey = pending.id;
  report.refusal = refusal;

  // An administrator finds the waiting key on the administration page (its hash as the
  // officer's page shows it) and approves it; the second browser then signs too.
  const admin = await browser.newContext();
  await admin.addCookies([{ name: "signet_session", value: process.env.ADMIN_SESSION, url }]);
  const adminPage = await admin.newPage();
  await adminPage.goto(`${url}/admin`);
  await adminPage.getByText(pending.key.slice(0, 16)).waitFor();
  await adminPage.getByRole("button", { name: /^Approve key of / }).click();
  await adminPage.getByText(/The signing key of .* is certified\./).waitFor();
  await second.page.goto(`${url}/vetting/orders/${process.env.SECOND}`);
  assert.equal((await keyState(second.page)).state, "active");
  await second.page.getByRole("button", { name: "Approve" }).click();
  await second.page.getByText("Decision recorded: the order is now ready for pickup.").waitFor();
  assert.deepEqual(second.errors, []);

  // The first browser learns that its key was replaced, and offers it again: it waits.
  await first.page.goto(`${url}/vetting/orders/${process.env.SECOND}`);
  const replaced = await keyState(first.page);
  assert.equal(replaced.state, "pending", JSON.stringify(replaced));
  await first.page.getByText(/waits for an administrator's approval/).waitFor();
  report.reofferedKey = replaced.id;
  writeFileSync(process.env.OUT, JSON.stringify(report));
  console.log("officer keys: ok");
} finally {
  await browser.close();
}
