// The officer's decision-signing key (issue 15). On every staff page this script makes sure the
// officer has a key pair in this browser — ECDSA P-256, its private half non-extractable, kept in
// IndexedDB under the officer's address — and that the staff CA certified it (enrolled at the
// first visit; renewed in the last 7 days of its 30; a new browser waits for an administrator).
// When a form marked `data-sign-order` is sent, it fetches the canonical statement of that
// decision from the server, signs it with the key and sends the statement and the signature
// with the form. The private key never leaves WebCrypto: not even this script can read it.

import { buildCsr, pem } from "./csr.js";

const DB = "signet-officer";
const STORE = "keys";
const RENEW_WITHIN_MS = 7 * 24 * 3600 * 1000;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function withStore(mode, use) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = use(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
  });
}

const load = (officer) => withStore("readonly", (s) => s.get(officer));
const save = (officer, record) => withStore("readwrite", (s) => s.put(record, officer));

function say(text) {
  for (const el of document.querySelectorAll("[data-officer-status]")) el.textContent = text;
}

function base64(bytes) {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Sends the key's CSR; returns the server's view of the key (state, not_after). */
async function enrol(keys, csrf) {
  const csr = pem("CERTIFICATE REQUEST", await buildCsr(keys, "p-256"));
  const response = await fetch("/staff/signing-key", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, csr }),
  });
  if (response.status !== 201 && response.status !== 202) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {}
    throw new Error(detail);
  }
  return response.json();
}

function needsEnrolment(record) {
  if (record.state === "refused") return false;
  if (record.state !== "active" || !record.not_after) return true;
  return Date.parse(record.not_after) - Date.now() < RENEW_WITHIN_MS;
}

/** What the server says of this browser's key now: another browser's key may have replaced
 * it, or an administrator refused it. */
async function serverState(record) {
  if (record.id === undefined) return record.state;
  const response = await fetch("/api/v1/staff/signing-keys", { credentials: "same-origin" });
  if (response.status === 401) throw new Error("your session has ended: log in again");
  if (!response.ok) return record.state;
  const mine = (await response.json()).find((k) => k.id === record.id);
  return mine ? mine.state : record.state;
}

/** The officer's key record, made and enrolled as needed. */
async function ready(officer, csrf) {
  let record = await load(officer);
  if (!record) {
    const keys = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
    record = { keys, state: "new" };
    await save(officer, record);
  }
  const state = await serverState(record);
  if (state !== record.state) {
    record = { ...record, state };
    await save(officer, record);
  }
  if (needsEnrolment(record)) {
    const view = await enrol(record.keys, csrf);
    record = {
      keys: record.keys,
      state: view.state,
      not_after: view.not_after,
      id: view.id,
      key: view.key_sha256,
    };
    await save(officer, record);
  }
  return record;
}

function describe(record) {
  if (record.state === "active") {
    return `Your decisions are signed with this browser's key (certificate valid until ${record.not_after}).`;
  }
  if (record.state === "pending") {
    return `This browser's signing key (${record.key.slice(0, 16)}…) waits for an administrator's approval; until then your decisions cannot be signed here.`;
  }
  if (record.state === "refused") {
    return "An administrator refused this browser's signing key: your decisions cannot be signed here. Ask an administrator, then clear this site's data in the browser to make a new key.";
  }
  return `This browser's signing key is ${record.state}: ask an administrator.`;
}

async function signForm(form, submitter, record) {
  const order = form.dataset.signOrder;
  const decision = form.dataset.signDecision || (submitter && submitter.value) || "";
  // As typed: the server trims and normalizes line breaks the same way on both sides.
  const message = (form.elements.message && form.elements.message.value) || "";
  const query = new URLSearchParams({ decision, message });
  const response = await fetch(`/api/v1/orders/${encodeURIComponent(order)}/statement?${query}`, {
    credentials: "same-origin",
  });
  if (response.status === 401) throw new Error("your session has ended: log in again");
  if (!response.ok) throw new Error(`the statement could not be fetched (HTTP ${response.status})`);
  const { canonical } = await response.json();
  const octets = new TextEncoder().encode(canonical);
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, record.keys.privateKey, octets);
  const field = (name, value) => {
    let input = form.querySelector(`input[name="${name}"]`);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  };
  field("statement", canonical);
  field("signature", base64(signature));
  if (submitter && submitter.name) field(submitter.name, submitter.value);
}

function main() {
  const officer = document.body.dataset.officer;
  const csrf = document.body.dataset.csrf;
  if (!officer || !window.indexedDB || !crypto.subtle) return;
  // Forms wait for the key: a decision sent while the key is still being enrolled is signed
  // once it is ready, never sent unsigned by accident.
  const readiness = ready(officer, csrf).then(
    (record) => {
      say(describe(record));
      window.signetOfficer = { state: record.state, id: record.id, key: record.key };
      return record;
    },
    (e) => {
      say(`Your signing key could not be enrolled: ${e.message}`);
      window.signetOfficer = { state: "failed", error: e.message };
      return null;
    },
  );
  for (const form of document.querySelectorAll("form[data-sign-order]")) {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.signed === "yes") return;
      event.preventDefault();
      const submitter = event.submitter;
      const record = await readiness;
      try {
        if (record && record.state === "active") await signForm(form, submitter, record);
        else if (submitter && submitter.name) {
          // No certified key here: the decision goes unsigned, and the server decides whether
          // that is allowed (it is not once this officer has a key elsewhere).
          const input = document.createElement("input");
          input.type = "hidden";
          input.name = submitter.name;
          input.value = submitter.value;
          form.appendChild(input);
        }
        form.dataset.signed = "yes";
        form.submit();
      } catch (e) {
        say(`The decision was not sent: it could not be signed (${e.message}).`);
      }
    });
  }
}

main();
