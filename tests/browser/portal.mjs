// The portal in headless Chromium, as a person uses it: pages, forms, mails from the outbox.
// Run by crates/signet-cli/tests/portal.rs against a running `signet serve`:
//   SIGNET_URL=http://127.0.0.1:PORT SIGNET_BASE_URL=http://pki.example.com \
//   SIGNET_OUTBOX=DATA/outbox SCREENSHOTS=DIR node portal.mjs
import assert from "node:assert/strict";
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const url = process.env.SIGNET_URL;
const baseUrl = process.env.SIGNET_BASE_URL;
const outbox = process.env.SIGNET_OUTBOX;
const shots = process.env.SCREENSHOTS;
mkdirSync(shots, { recursive: true });

/** Undoes quoted-printable transfer encoding (RFC 2045 §6.7), as a mail client would. */
function quotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i]));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Every mail in the outbox, oldest first (files are named by the queue's message id). */
function allMails() {
  return readdirSync(outbox)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => join(outbox, f))
    .sort()
    .map((p) => {
      const raw = readFileSync(p, "utf8");
      const split = raw.indexOf("\r\n\r\n") >= 0 ? "\r\n\r\n" : "\n\n";
      const [head, ...rest] = raw.split(split);
      const body = rest.join(split);
      const header = (name) => (head.split(/\r?\n/).find((l) => l.startsWith(name)) || "").slice(name.length).trim();
      return {
        to: header("To:"),
        subject: header("Subject:"),
        body: raw.includes("quoted-printable") ? quotedPrintable(body) : body,
        raw,
      };
    });
}

/** The newest mail to `to` whose subject contains `subject`: { to, subject, body, raw }. Mail
 * leaves through a queue after the commit, so this waits for it a little. */
function mailTo(to, subject) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 15000; waited += 50) {
    const mail = allMails().reverse().find((m) => m.to.includes(to) && m.subject.includes(subject));
    if (mail) return mail;
    Atomics.wait(pause, 0, 0, 50);
  }
  assert.fail(`no mail to ${to} about "${subject}"`);
}

/** The link in the newest mail to `to` whose subject contains `subject`, on the test server. */
function linkInMail(to, subject) {
  const mail = mailTo(to, subject);
  const found = mail.body.match(new RegExp(baseUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "(/\\S+)"));
  assert.ok(found, `no link in the mail about "${subject}"`);
  return url + found[1];
}

/** RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s), written here independently of the server's. */
function totp(base32Secret, stepOffset) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32Secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + stepOffset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[19] & 15;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).toString().padStart(6, "0");
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();

  // The start page, with the security headers every page carries.
  const home = await page.goto(url + "/");
  assert.equal(home.status(), 200);
  const headers = home.headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(headers["x-content-type-options"], "nosniff");
  await assert.doesNotReject(page.getByRole("heading", { level: 1 }).waitFor());
  await shot(page, "home");

  // Sign up through the form; the confirmation arrives by mail.
  await page.getByRole("link", { name: "Create account" }).click();
  await page.getByLabel("Your full name").fill("Max Muster");
  await page.getByLabel("E-mail address").fill("max@example.de");
  await page.getByLabel("Password").fill("a long enough passphrase");
  await shot(page, "signup");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText("We sent a confirmation link to max@example.de").waitFor();

  // Logging in before confirming is refused with the reason.
  await page.goto(url + "/login");
  await page.getByLabel("E-mail address").fill("max@example.de");
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Log in" }).click();
  const refusal = await page.getByRole("alert").textContent();
  assert.match(refusal, /confirm/i, refusal);
  await shot(page, "login-refused");

  await page.goto(linkInMail("max@example.de", "Confirm"));
  await page.getByRole("button").click();
  await page.getByText(/confirmed/i).first().waitFor();

  // A wrong password shows its message; the right one opens the account.
  await page.goto(url + "/login");
  await page.getByLabel("E-mail address").fill("max@example.de");
  await page.getByLabel("Password").fill("not the passphrase");
  await page.getByRole("button", { name: "Log in" }).click();
  assert.match(await page.getByRole("alert").textContent(), /password/i);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(url + "/account");
  await page.getByText("You have not ordered a certificate yet.").waitFor();
  await page.getByRole("link", { name: "Max Muster" }).waitFor();
  await shot(page, "account");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "signet_session");
  assert.ok(session && session.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));

  // Order: a BE/NL organization learns at once that its orders go through an agent.
  await page.getByRole("link", { name: "Order a certificate" }).click();
  await page.getByLabel("Given name").fill("Max");
  await page.getByLabel("Surname").fill("Muster");
  await page.getByLabel("E-mail address in the certificate").fill("max@example.de");
  await page.getByLabel("Organization name (as registered)").fill("Muster GmbH");
  await page.getByLabel("Country (two-letter code)").fill("NL");
  await page.getByLabel("Approver's e-mail address").fill("boss@example.de");
  await page.getByLabel("RSA 3072").check();
  await shot(page, "order-form");
  await page.getByRole("button", { name: "Review the order" }).click();
  assert.match(await page.getByRole("alert").textContent(), /registration agent/);
  await shot(page, "order-agent-channel");
  await page.getByLabel("Country (two-letter code)").fill("DE");
  await page.getByRole("button", { name: "Review the order" }).click();
  await page.getByText("These details are locked once you order.").waitFor();
  await shot(page, "order-review");
  await page.getByLabel("Choose a pickup password").fill("pickup-secret-42");
  await page.getByRole("button", { name: "Place the order" }).click();
  await page.getByText("Your order is placed.").waitFor();
  const orderUrl = page.url().split("?")[0];
  const number = orderUrl.split("/").pop();
  assert.match(number, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  await shot(page, "order");

  // The request form downloads as a PDF; the signed form uploads from the order page.
  const pdfHref = await page.getByRole("link", { name: "Download the request form (PDF)" }).getAttribute("href");
  const pdf = await page.request.get(url + pdfHref);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
  await page.getByLabel("What is it?").selectOption("signed_agreement");
  await page.getByLabel("File (PDF, PNG or JPEG, at most 10 MiB)").setInputFiles({
    name: "signed-form.pdf",
    mimeType: "application/pdf",
    buffer: await pdf.body(),
  });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByText("The document was uploaded.").waitFor();
  await page.getByText(/signed agreement — application\/pdf/).waitFor();
  // A file that is not a PDF or an image is refused with the reason.
  await page.getByLabel("File (PDF, PNG or JPEG, at most 10 MiB)").setInputFiles({
    name: "notes.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("not a document"),
  });
  await page.getByRole("button", { name: "Upload" }).click();
  assert.match(await page.getByRole("alert").textContent(), /PDF|PNG|JPEG/);
  await shot(page, "upload-refused");
  await page.goto(url + "/account");
  await page.getByRole("link", { name: number }).waitFor();

  // Someone else's order: not found, as if it did not exist.
  const stranger = await browser.newContext();
  const signUp = await stranger.request.post(url + "/api/v1/accounts", {
    data: { email: "eve@example.org", password: "another long passphrase", name: "Eve" },
  });
  assert.equal(signUp.status(), 202, await signUp.text());
  const confirmPath = new URL(linkInMail("eve@example.org", "Confirm")).pathname.split("/").pop();
  assert.equal((await stranger.request.post(url + "/api/v1/confirmations/" + confirmPath)).status(), 200);
  const eveLogin = await stranger.request.post(url + "/api/v1/sessions", {
    data: { email: "eve@example.org", password: "another long passphrase" },
  });
  assert.equal(eveLogin.status(), 201);
  const peek = await stranger.newPage();
  const peeked = await peek.goto(orderUrl);
  assert.equal(peeked.status(), 404);
  await stranger.close();

  // The approver confirms from the mail.
  const approver = await browser.newContext();
  const approverPage = await approver.newPage();
  await approverPage.goto(linkInMail("boss@example.de", "Confirm the approval"));
  await approverPage.getByRole("button").click();
  await approverPage.getByText(/confirmed/i).first().waitFor();
  await approver.close();

  // The vetting officer sets a password from the invitation, logs in and finds the order.
  const staff = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const vera = await staff.newPage();
  await vera.goto(linkInMail("vera@ca.example.com", "staff account"));
  await vera.getByLabel(/password/i).first().fill("vetting officer passphrase");
  await vera.getByRole("button").click();
  await vera.goto(url + "/login");
  await vera.getByLabel("E-mail address").fill("vera@ca.example.com");
  await vera.getByLabel("Password").fill("vetting officer passphrase");
  await vera.getByRole("button", { name: "Log in" }).click();
  // A vetting officer's first log-in sets up the second factor (TOTP, RFC 6238).
  await vera.getByRole("heading", { name: "Set up your second factor" }).waitFor();
  await shot(vera, "second-factor-setup");
  const secret = (await vera.locator("#totp-secret").textContent()).trim();
  await vera.getByLabel("Password").fill("vetting officer passphrase");
  const firstCode = totp(secret, 0);
  await vera.getByLabel("Code from the app").fill(firstCode);
  await vera.getByRole("button", { name: "Verify and log in" }).click();
  await vera.waitForURL(url + "/vetting");
  await vera.getByRole("link", { name: number }).waitFor();
  await shot(vera, "vetting-queue");
  await vera.getByRole("link", { name: number }).click();
  const fingerprint = await vera.locator("dt:text-is('Fingerprint') + dd").textContent();
  await vera.getByLabel("Fingerprint printed on the uploaded form").fill("0000 0000 0000 0000 0000 0000 0000 0000");
  await vera.getByRole("button", { name: "Compare" }).click();
  assert.match(await vera.getByRole("alert").textContent(), /does NOT match/);
  await vera.getByLabel("Fingerprint printed on the uploaded form").fill(fingerprint.trim());
  await vera.getByRole("button", { name: "Compare" }).click();
  await vera.getByText("The fingerprint matches").waitFor();
  await shot(vera, "vetting-order");
  // Rejecting needs a reason: refused with the message, nothing changes.
  await vera.getByRole("button", { name: "Reject" }).click();
  assert.match(await vera.getByRole("alert").textContent(), /reason/i);
  await vera.getByRole("button", { name: "Approve" }).click();
  await vera.getByText("Decision recorded: the order is now ready for pickup.").waitFor();
  // From now on the password alone is not enough, and a code works once.
  await vera.getByRole("button", { name: "Log out" }).click();
  const staffLogin = async (code) => {
    await vera.goto(url + "/login");
    await vera.getByLabel("E-mail address").fill("vera@ca.example.com");
    await vera.getByLabel("Password").fill("vetting officer passphrase");
    await vera.getByLabel(/Authenticator code/).fill(code);
    await vera.getByRole("button", { name: "Log in" }).click();
  };
  await staffLogin("");
  assert.match(await vera.getByRole("alert").textContent(), /6-digit code/);
  await staffLogin(firstCode);
  // Refused, replayed or expired alike, with the answer a wrong password gets.
  const replayed = await vera.getByRole("alert").textContent();
  assert.match(replayed, /wrong e-mail address, password or authenticator code/);
  await shot(vera, "second-factor-replayed");
  await staffLogin(totp(secret, 1));
  await vera.waitForURL(url + "/vetting");
  await staff.close();

  // Pickup: link, pickup password, key and file format; the PFX and its password, once.
  await page.goto(linkInMail("max@example.de", "ready"));
  await shot(page, "pickup");
  await page.getByLabel("Pickup password (chosen when you ordered)").fill("pickup-secret-42");
  await page.getByLabel("Key type").selectOption("p-256");
  await page.getByLabel("PFX encryption").selectOption("modern");
  await page.getByRole("button", { name: "Pick up" }).click();
  await page.getByText("Neither can be retrieved again").waitFor();
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: /^Download signet-/ }).click();
  const download = await downloading;
  await download.saveAs(process.env.PFX_OUT);
  const pfxPassword = (await page.locator("#pfx-password").textContent()).trim();
  // The copy button (the portal's one script) puts the password on the clipboard.
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), pfxPassword);
  writeFileSync(process.env.PFX_OUT + ".password", pfxPassword);
  await shot(page, "pickup-done");
  await page.goto(url + "/account");
  await page.locator(".badge.good", { hasText: "valid" }).waitFor();
  await shot(page, "account-with-certificate");

  // The certificate's page: downloads, and reissue and revocation with their consequences.
  await page.locator("td a code").first().click();
  await page.getByRole("heading", { name: "Reissue: a new key pair, same details and end date" }).waitFor();
  await shot(page, "certificate");
  const certPath = new URL(page.url()).pathname;
  const publicKey = await page.request.get(url + (await page.getByRole("link", { name: "Public key (PEM)" }).getAttribute("href")));
  assert.match(await publicKey.text(), /-----BEGIN PUBLIC KEY-----/);
  const csrfToken = await page.locator("input[name=csrf]").first().inputValue();
  const unconfirmed = await page.request.post(url + certPath + "/revoke", {
    form: { csrf: csrfToken, reason: "key_compromise" },
  });
  assert.equal(unconfirmed.status(), 422, "revocation needs the confirmation box");
  await page.getByLabel("New pickup password").fill("reissue-secret-42");
  await page.getByRole("button", { name: "Reissue" }).click();
  await page.getByText("Reissue ordered").waitFor();
  await page.goto(url + certPath);
  await page.getByLabel("Reason").selectOption("key_compromise");
  await page.getByLabel("I understand that revocation cannot be undone").check();
  await page.getByRole("button", { name: "Revoke the certificate" }).click();
  await page.getByText("The certificate is revoked.").waitFor();
  await page.locator(".badge.bad", { hasText: "revoked" }).waitFor();
  // The page offers what the domain allows, and says why the rest is not.
  for (const button of ["Revoke the certificate", "Reissue", "Renew"]) {
    assert.equal(await page.getByRole("button", { name: button, exact: true }).count(), 0, `no ${button} on a revoked certificate`);
  }
  await page.getByText("Not available now, and why").click();
  await page.getByText("the certificate is already revoked").waitFor();
  await page.getByText("a revoked certificate is not renewed").waitFor();
  await shot(page, "certificate-revoked");

  // Cancelling a second order: explained, then final.
  await page.goto(url + "/orders/new");
  await page.getByLabel("Given name").fill("Max");
  await page.getByLabel("Surname").fill("Muster");
  await page.getByLabel("E-mail address in the certificate").fill("max@example.de");
  await page.getByLabel("Organization name (as registered)").fill("Muster GmbH");
  await page.getByLabel("Country (two-letter code)").fill("DE");
  await page.getByLabel("Approver's e-mail address").fill("boss@example.de");
  await page.getByRole("button", { name: "Review the order" }).click();
  await page.getByLabel("Choose a pickup password").fill("pickup-secret-42");
  await page.getByRole("button", { name: "Place the order" }).click();
  await page.getByText("Your order is placed.").waitFor();
  await page.getByRole("button", { name: "Cancel the order" }).click();
  await page.getByText("The order was cancelled.").waitFor();
  await page.getByText("This order was cancelled.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Cancel the order" }).count(), 0);
  // ... and ordered again from the cancelled order, with the same details.
  const cancelledNumber = page.url().split("?")[0].split("/").pop();
  await page.getByLabel("Pickup password for the new order").fill("pickup-secret-43");
  await page.getByRole("button", { name: "Order again" }).click();
  await page.getByText("Your order is placed.").waitFor();
  assert.notEqual(page.url().split("?")[0].split("/").pop(), cancelledNumber);
  await page.getByText("Muster GmbH").waitFor();
  await shot(page, "reorder");

  // A registration agent orders for a subscriber of its region (NL) and records the attestation.
  const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const agent = await agentContext.newPage();
  await agent.goto(linkInMail("kbo@agent.example.nl", "staff account"));
  await agent.getByLabel(/password/i).first().fill("registration agent passphrase");
  await agent.getByRole("button").click();
  await agent.goto(url + "/login");
  await agent.getByLabel("E-mail address").fill("kbo@agent.example.nl");
  await agent.getByLabel("Password").fill("registration agent passphrase");
  await agent.getByRole("button", { name: "Log in" }).click();
  await agent.waitForURL(url + "/account");
  assert.equal(await agent.getByRole("link", { name: "Vetting queue" }).count(), 0);
  await agent.getByRole("link", { name: "Order a certificate" }).click();
  await agent.getByLabel("Given name").fill("Anna");
  await agent.getByLabel("Surname").fill("de Vries");
  await agent.getByLabel("E-mail address in the certificate").fill("anna@bedrijf.nl");
  await agent.getByLabel("Organization name (as registered)").fill("Bedrijf BV");
  await agent.getByLabel("Country (two-letter code)").fill("NL");
  await agent.getByLabel("Approver's e-mail address").fill("directie@bedrijf.nl");
  await agent.getByRole("button", { name: "Review the order" }).click();
  await agent.getByLabel("Choose a pickup password").fill("pickup-secret-nl-7");
  await agent.getByRole("button", { name: "Place the order" }).click();
  await agent.getByText("Your order is placed.").waitFor();
  const agentOrder = agent.url().split("?")[0].split("/").pop();
  await agent.getByRole("button", { name: "Record my attestation" }).click();
  await agent.getByText("Your in-person attestation is recorded.").waitFor();
  await shot(agent, "agent-order");
  await agent.goto(url + "/account");
  await agent.getByRole("link", { name: agentOrder }).waitFor();
  await agentContext.close();

  // The administrator: second factor, dashboard charts, an alert banner and feed, relying
  // services, a staff invitation.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const admin = await adminContext.newPage();
  await admin.goto(linkInMail("admin@signet.example", "staff account"));
  await admin.getByLabel(/password/i).first().fill("administrator passphrase");
  await admin.getByRole("button").click();
  await admin.goto(url + "/login");
  await admin.getByLabel("E-mail address").fill("admin@signet.example");
  await admin.getByLabel("Password").fill("administrator passphrase");
  await admin.getByRole("button", { name: "Log in" }).click();
  const adminSecret = (await admin.locator("#totp-secret").textContent()).trim();
  await admin.getByLabel("Password").fill("administrator passphrase");
  await admin.getByLabel("Code from the app").fill(totp(adminSecret, 0));
  await admin.getByRole("button", { name: "Verify and log in" }).click();
  await admin.waitForURL(url + "/admin");
  assert.equal(await admin.locator("svg.chart").count(), 3);
  await admin.locator("svg.chart rect").first().waitFor();
  await admin.getByLabel("Kind").selectOption("maintenance");
  await admin.getByLabel("Title (shown in the banner)").fill("Planned maintenance Saturday 06:00-07:00 UTC");
  await admin.getByLabel("Details").fill("Ordering and pickup pause; CRLs and OCSP keep answering.");
  await admin.getByRole("button", { name: "Post" }).click();
  await admin.getByText("The alert is posted").waitFor();
  const services = admin.getByRole("region", { name: "List a relying service" });
  await services.getByLabel("Name").fill("Tax portal");
  await services.getByLabel("Web address").fill("https://tax.example.org");
  await services.getByLabel("Accepts from").fill("2026-01-01");
  await services.getByLabel("Note").fill("Log in with the certificate");
  await services.getByRole("button", { name: "Add" }).click();
  await admin.getByText("Tax portal is listed.").waitFor();
  const invite = admin.getByRole("region", { name: "Invite staff" });
  await invite.getByLabel("E-mail address").fill("sam@ca.example.com");
  await invite.getByLabel("Name").fill("Sam Support");
  await invite.getByLabel("Role").selectOption("support");
  await invite.getByRole("button", { name: "Send the invitation" }).click();
  await admin.getByText("The invitation to sam@ca.example.com is on its way.").waitFor();
  // The staff list shows roles and second factors; a lost phone means a reset.
  const staffRow = admin.getByRole("row", { name: /vera@ca\.example\.com/ });
  await staffRow.getByText("set up").waitFor();
  await admin.getByRole("button", { name: "Reset second factor of vera@ca.example.com" }).click();
  await admin.getByText("vera@ca.example.com sets up a new second factor at the next log-in.").waitFor();
  await admin.getByRole("row", { name: /vera@ca\.example\.com/ }).getByText("at next log-in").waitFor();
  await shot(admin, "admin");
  // Everyone sees the banner; the feed and the services list carry the news.
  const visitor = await browser.newPage();
  await visitor.goto(url + "/");
  await visitor.getByText("Planned maintenance Saturday").first().waitFor();
  await shot(visitor, "home-with-alert");
  const atom = await visitor.request.get(url + "/alerts.atom");
  assert.match(atom.headers()["content-type"], /application\/atom\+xml/);
  assert.match(await atom.text(), /<feed[\s\S]*Planned maintenance Saturday/);
  await visitor.goto(url + "/services");
  await visitor.getByRole("link", { name: "Tax portal" }).waitFor();
  await visitor.locator(".badge.good", { hasText: "accepts" }).waitFor();
  await shot(visitor, "services");
  await admin.getByRole("button", { name: "End this alert" }).click();
  await admin.getByText("The alert has ended.").waitFor();
  await visitor.goto(url + "/status");
  assert.equal(await visitor.locator(".banner").count(), 0);
  await visitor.getByText("Planned maintenance Saturday").waitFor();
  await shot(visitor, "status");
  await visitor.close();
  // Other staff are not administrators.
  const notAdmin = await page.request.get(url + "/admin");
  assert.equal(notAdmin.status(), 403);
  await adminContext.close();

  // Anyone writes to support citing an order; support answers by mail and the thread stays
  // with the order; support finds the order with personal data masked until revealed.
  await page.goto(url + "/support");
  // An order number that does not exist: refused with the reason, the message kept in the form.
  await page.getByLabel("Your name").fill("Max Muster");
  await page.getByLabel("Your e-mail address (we answer there)").fill("max@example.de");
  await page.getByLabel("Order number (if you have one)").fill("AAAAA-AAAAA");
  await page.getByLabel("Your message").fill("Where is my order?");
  await page.getByRole("button", { name: "Send to support" }).click();
  assert.match(await page.getByRole("alert").textContent(), /there is no order AAAAA-AAAAA/);
  assert.equal(await page.getByLabel("Your message").inputValue(), "Where is my order?");
  await page.goto(url + "/support");
  await page.getByLabel("Your name").fill("Max Muster");
  await page.getByLabel("Your e-mail address (we answer there)").fill("max@example.de");
  await page.getByLabel("Order number (if you have one)").fill(number);
  await page.getByLabel("Your message").fill("I lost the PFX password. What can I do?");
  await page.getByRole("button", { name: "Send to support" }).click();
  await page.getByText("Your message reached our support team").waitFor();
  const supportContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const sam = await supportContext.newPage();
  await sam.goto(linkInMail("sam@ca.example.com", "staff account"));
  await sam.getByLabel(/password/i).first().fill("support team passphrase");
  await sam.getByRole("button").click();
  await sam.goto(url + "/login");
  await sam.getByLabel("E-mail address").fill("sam@ca.example.com");
  await sam.getByLabel("Password").fill("support team passphrase");
  await sam.getByRole("button", { name: "Log in" }).click();
  const samSecret = (await sam.locator("#totp-secret").textContent()).trim();
  await sam.getByLabel("Password").fill("support team passphrase");
  await sam.getByLabel("Code from the app").fill(totp(samSecret, 0));
  await sam.getByRole("button", { name: "Verify and log in" }).click();
  await sam.waitForURL(url + "/support/inbox");
  await sam.getByText("I lost the PFX password. What can I do?").waitFor();
  await shot(sam, "support-inbox");
  await sam.getByLabel("Answer (sent by e-mail)").first().fill("Ask for a reissue on your certificate page: a new key pair, same end date, no charge.");
  await sam.getByRole("button", { name: "Send the answer" }).first().click();
  await sam.getByText("The answer was mailed.").waitFor();
  assert.match(mailTo("max@example.de", "Signet support").body, /Ask for a reissue/);
  await sam.goto(url + "/support/orders?number=" + number);
  await sam.getByText("M••• M•••").waitFor();
  assert.equal(await sam.getByText("Max Muster").count(), 0, "personal data masked");
  await shot(sam, "support-order");
  await sam.getByRole("button", { name: "Reveal personal data" }).click();
  await sam.getByText("Personal data revealed").waitFor();
  await sam.getByText("Max Muster").first().waitFor();
  await sam.getByRole("button", { name: "Resend the request form" }).click();
  await sam.getByText("The request form was mailed to m•••@example.de.").waitFor();
  const resent = mailTo("max@example.de", "Your request form for order");
  assert.match(resent.raw, /application\/pdf/);
  assert.match(resent.raw, new RegExp(`signet-order-${number}\\.pdf`));
  await supportContext.close();
  await page.goto(orderUrl);
  await page.getByText("support request: I lost the PFX password").waitFor();
  await page.getByText("support answer: Ask for a reissue").waitFor();

  // A form without this site's token is refused, and the session stays.
  const forged = await page.request.post(url + "/logout", { form: { csrf: "0".repeat(64) } });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /This form has expired/);
  const other = await browser.newContext();
  const crossSite = await other.request.post(url + "/login", {
    form: { csrf: "", email: "max@example.de", password: "a long enough passphrase" },
  });
  assert.equal(crossSite.status(), 403, "a login form posted without the CSRF cookie");
  await other.close();
  await page.goto(url + "/account");
  await page.getByRole("link", { name: number }).waitFor();

  await page.goto(url + "/help");
  await page.getByRole("heading", { name: "I lost the PFX file or its password" }).waitFor();
  await shot(page, "help");

  // Log out from the navigation; the account page then asks to log in.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(url + "/");
  await page.goto(url + "/account");
  await page.waitForURL(url + "/login");

  // Accessibility: axe-core (WCAG 2 A and AA rules) finds no serious or critical violation on
  // the main pages. The context bypasses the CSP only so that the checker can be injected.
  const audit = await browser.newContext({ bypassCSP: true });
  const checker = await audit.newPage();
  const axePath = join(dirname(fileURLToPath(import.meta.url)), "node_modules/axe-core/axe.min.js");
  const accessible = async (path) => {
    await checker.goto(url + path);
    await checker.addScriptTag({ path: axePath });
    const result = await checker.evaluate(() => axe.run({ runOnly: ["wcag2a", "wcag2aa"] }));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(
      serious.map((v) => `${path}: ${v.id} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
      [],
    );
  };
  for (const path of ["/", "/signup", "/login", "/help", "/status", "/services", "/repository/", "/support"]) {
    await accessible(path);
  }
  await checker.goto(url + "/login");
  await checker.getByLabel("E-mail address").fill("max@example.de");
  await checker.getByLabel("Password").fill("a long enough passphrase");
  await checker.getByRole("button", { name: "Log in" }).click();
  await checker.waitForURL(url + "/account");
  for (const path of ["/account", "/orders/new", new URL(orderUrl).pathname, certPath]) {
    await accessible(path);
  }
  await audit.close();

  // Phone-sized screen: the same pages in one column.
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
  const small = await phone.newPage();
  await small.goto(url + "/");
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the start page scrolls sideways on a phone by ${overflow}px`);
  await shot(small, "home-phone");
  await phone.close();
  console.log("portal journey: ok");
} finally {
  await browser.close();
}
