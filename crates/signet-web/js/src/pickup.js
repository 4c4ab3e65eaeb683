// The pickup page's "generate the key in this browser": WebCrypto makes the key pair, the page
// sends only a PKCS#10 request and the pickup password to the CSR pickup
// (POST /api/v1/pickups/{token}), and builds the PKCS#12 here from the certificate that comes
// back. The private key never leaves the page. Without JavaScript, or outside a secure
// context (WebCrypto needs https or localhost), the option stays hidden and the form works
// as before: the server makes the key, or takes a pasted CSR.

import * as pkijs from "pkijs";

import { buildCsr, generateKey, pem, pemBlocks } from "./csr.js";
import { buildPfx, pfxPassword } from "./pkcs12.js";

/** A friendly name PKCS#12 can carry (BMPString): characters beyond U+FFFF become U+FFFD. */
function bmpName(name) {
  return Array.from(name, (c) => (c.codePointAt(0) > 0xffff ? "\ufffd" : c)).join("");
}

/** Whether the PEM certificate certifies `publicKey` (the same SubjectPublicKeyInfo). */
async function isForKey(certificatePem, publicKey) {
  const [der] = pemBlocks(certificatePem || "");
  if (!der) return false;
  const certified = new Uint8Array(
    pkijs.Certificate.fromBER(der).subjectPublicKeyInfo.toSchema().toBER(false),
  );
  const own = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  return certified.length === own.length && certified.every((b, i) => b === own[i]);
}

/** The certificate's subject commonName: the PFX's label, as the server's PFX names it. */
function commonName(der) {
  const certificate = pkijs.Certificate.fromBER(der);
  const cn = certificate.subject.typesAndValues.find((t) => t.type === "2.5.4.3");
  return cn ? cn.value.valueBlock.value : "";
}

function show(element, text) {
  element.hidden = false;
  element.textContent = text;
}

async function pickUp(form, status, result) {
  const token = location.pathname.split("/").pop();
  const type = form.elements.key_type.value || "p-256";
  const legacy = form.elements.compatibility.value === "legacy";
  const started = performance.now();
  show(status, `Generating a ${type.toUpperCase()} key pair in this browser…`);
  const keys = await generateKey(type);
  const generated = performance.now() - started;
  const csr = pem("CERTIFICATE REQUEST", await buildCsr(keys, type));
  // Exported before the link is used up: once the certificate is issued, nothing may stand
  // between the key and the file.
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  show(status, "Sending the certificate request (your public key only)…");
  let response;
  try {
    response = await fetch(`/api/v1/pickups/${encodeURIComponent(token)}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ pickup_password: form.elements.pickup_password.value, csr }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    show(
      status,
      `The answer to the pickup did not arrive (${e.message}). It may have gone through: if the link no longer works, contact support with your order number.`,
    );
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    show(status, body.detail || `The pickup failed (${response.status}).`);
    return;
  }
  // The link is used: the form cannot be sent again.
  form.hidden = true;
  if (!(await isForKey(body.certificate, keys.publicKey))) {
    show(
      status,
      `The certificate that came back (serial ${body.serial}) is not for the key made in this browser: contact support.`,
    );
    return;
  }
  // The certificate is issued and the link used: if building the file fails, the key and the
  // certificate stay in this page and the build can be tried again.
  const build = async () => {
    show(status, "Building the PKCS#12 file in this browser…");
    const [certificate] = pemBlocks(body.certificate);
    const password = pfxPassword();
    const pfx = await buildPfx({
      pkcs8,
      certificate,
      chain: pemBlocks(body.chain),
      friendlyName: bmpName(`${commonName(certificate) || body.order_number} (Signet)`),
      password,
      legacy,
    });
    offer(result, body, pfx, password);
  };
  const done = () => {
    result.dataset.keyMillis = String(Math.round(generated));
    show(
      status,
      `Done. The key pair was made in this browser in ${Math.round(generated)} ms and never left it.`,
    );
  };
  try {
    await build();
    done();
  } catch (e) {
    show(status, `Your certificate is issued, but building the file failed (${e.message}). Keep this page open and try again.`);
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = "Build the PKCS#12 file again";
    again.addEventListener("click", () => {
      build()
        .then(() => {
          again.remove();
          done();
        })
        .catch((err) => show(status, `Building the file failed again: ${err.message}`));
    });
    status.after(again);
  }
}

/** Shows the file, its password (once) and the certificate. */
function offer(result, body, pfx, password) {
  const link = result.querySelector("a[download]");
  link.download = `signet-${body.order_number}.p12`;
  link.href = URL.createObjectURL(new Blob([pfx], { type: "application/x-pkcs12" }));
  link.textContent = `Download ${link.download}`;
  result.querySelector("#browser-pfx-password").textContent = password;
  result.querySelector("#browser-serial").textContent = body.serial;
  result.querySelector("#browser-certificate").textContent = body.certificate;
  result.hidden = false;
}

const form = document.getElementById("pickup-form");
const option = document.getElementById("browser-key");
if (form && option && window.isSecureContext && window.crypto && crypto.subtle) {
  option.hidden = false;
  // The link of an order whose key is made in the browser ends in #in-browser.
  if (location.hash === "#in-browser") form.elements.in_browser.checked = true;
  const status = document.getElementById("browser-status");
  const result = document.getElementById("browser-result");
  form.addEventListener("submit", (event) => {
    if (!form.elements.in_browser.checked || form.elements.csr.value.trim() !== "") return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    pickUp(form, status, result)
      .catch((e) => show(status, `Key generation in this browser failed: ${e.message}`))
      .finally(() => {
        button.disabled = false;
      });
  });
}
