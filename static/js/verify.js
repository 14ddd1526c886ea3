// Independent verification in the browser: WebCrypto Ed25519 over the exact signed bytes,
// against the published key list — it does not take the server's badge for granted.
//
// Reads #verify-data (payload string, base64 signature, key id, content hash, and what the page
// shows: title, body source, version), writes its verdict into #browser-verify
// (data-state = "valid" | "invalid" | "unsupported").

const el = document.getElementById("browser-verify");
const dataNode = document.getElementById("verify-data");

function show(state, text) {
  if (!el) return;
  el.dataset.state = state;
  el.className = "badge " + (state === "valid" ? "valid" : state === "invalid" ? "invalid" : "warn");
  el.textContent = text;
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function seconds(text) {
  return text ? Date.parse(text) : null;
}

async function verify() {
  const data = JSON.parse(dataNode.textContent);
  const bytes = new TextEncoder().encode(data.payload);
  const problems = [];

  const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
  if (digest !== data.content_hash) problems.push("hash");

  const response = await fetch(data.keys_url, { credentials: "omit" });
  if (!response.ok) throw new Error("keys " + response.status);
  const keys = await response.json();
  const key = keys.find((k) => k.key_id === data.key_id);

  let payload = null;
  try { payload = JSON.parse(data.payload); } catch { problems.push("payload"); }

  if (!key) {
    problems.push("unknown key");
  } else {
    // The key id is derived from the key itself: recompute it, do not trust the list's label.
    const raw = fromBase64(key.public_key);
    const keyId = hex(await crypto.subtle.digest("SHA-256", raw)).slice(0, 16);
    if (keyId !== data.key_id) problems.push("key id");
    const publicKey = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, fromBase64(data.signature), bytes);
    if (!ok) problems.push("signature");
    if (payload) {
      const signedAt = seconds(payload.published_at);
      if (payload.issuer?.code !== key.unit.code) problems.push("key unit");
      if (signedAt === null || signedAt < seconds(key.valid_from)
          || (key.valid_until && signedAt >= seconds(key.valid_until))
          || (key.revoked_at && signedAt >= seconds(key.revoked_at))) problems.push("key validity");
    }
  }
  if (payload) {
    // What the page shows must be what was signed.
    if (payload.title !== data.shown.title) problems.push("title");
    if (payload.body !== data.shown.body) problems.push("body");
    if (payload.version !== data.shown.version) problems.push("version");
    if (payload.announcement_id !== data.shown.announcement_id) problems.push("announcement");
    if (payload.key_id !== data.key_id) problems.push("key id");
  }

  if (problems.length === 0) {
    show("valid", "Browser: tanda tangan Ed25519 sah dan sesuai isi yang ditampilkan");
  } else {
    show("invalid", "Browser: TIDAK SAH (" + problems.join(", ") + ")");
  }
}

if (el && dataNode) {
  if (!window.crypto?.subtle) {
    show("unsupported", "Browser ini tidak dapat memeriksa tanda tangan");
  } else {
    verify().catch((error) => {
      // A browser without Ed25519 in WebCrypto cannot judge: say so, never "valid".
      const unsupported = error && (error.name === "NotSupportedError" || error.name === "DataError");
      show(unsupported ? "unsupported" : "invalid",
           unsupported ? "Browser ini belum mendukung Ed25519" : "Browser: pemeriksaan gagal (" + error + ")");
    });
  }
}
