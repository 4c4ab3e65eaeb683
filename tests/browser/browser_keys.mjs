// Keys made in the subscriber's browser: headless Chromium picks up ready orders with
// "Generate the key pair in this browser", downloads the PFX the page built, and records every
// request the page sent. Run by crates/signet-cli/tests/portal.rs:
//   SIGNET_URL=http://127.0.0.1:PORT \
//   PICKUPS='[{"link","key_type","compatibility","preset","out"}]' \
//   PICKUP_PASSWORD=... node browser_keys.mjs
// For each pickup it writes OUT (the PFX), OUT.password and OUT.json (the requests sent, the
// key generation time).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.SIGNET_URL;
const pickups = JSON.parse(process.env.PICKUPS);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  for (const p of pickups) {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const sent = [];
    page.on("request", (r) =>
      sent.push({ method: r.method(), url: r.url(), body: r.postData() || "" }),
    );
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("response", (r) => {
      // Chromium asks for /favicon.ico on its own; Signet has none.
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) {
        errors.push(`${r.status()} for ${r.url()}`);
      }
    });

    await page.goto(`${url}/pickup/${p.link}`);
    await page.getByLabel("Pickup password (chosen when you ordered)").fill(process.env.PICKUP_PASSWORD);
    await page.getByLabel("Key type").selectOption(p.key_type);
    await page.getByLabel("PFX encryption").selectOption(p.compatibility);
    const inBrowser = page.getByLabel(/Generate the key pair in this browser/);
    // An order that chose "made in my browser" comes with the option already taken.
    assert.equal(await inBrowser.isChecked(), p.preset, "preset from the link's #in-browser");
    await inBrowser.check();
    await page.getByRole("button", { name: "Pick up" }).click();
    await page.getByText("the key exists only in this file").waitFor({ timeout: 60000 });
    await page.getByText(/made in this browser in \d+ ms and never left it/).waitFor();
    const downloading = page.waitForEvent("download");
    await page.getByRole("link", { name: /^Download signet-/ }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^signet-[0-9A-Z]{5}-[0-9A-Z]{5}\.p12$/);
    await download.saveAs(p.out);
    const password = (await page.locator("#browser-pfx-password").textContent()).trim();
    assert.match(password, /^[A-Za-z0-9]{20}$/);
    writeFileSync(p.out + ".password", password);
    const keyMillis = Number(await page.locator("#browser-result").getAttribute("data-key-millis"));
    const serial = (await page.locator("#browser-serial").textContent()).trim();
    assert.deepEqual(errors, [], "the page reported errors");
    writeFileSync(p.out + ".json", JSON.stringify({ requests: sent, keyMillis, serial }));
    await context.close();
  }
  console.log("browser keys: ok");
} finally {
  await browser.close();
}
