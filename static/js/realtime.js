// Real-time client of the gateway at /ws/ (protocol: docs/realtime.md). An ES module with no
// build step, loaded by base.html for logged-in users.
//
// - connects, shows the state in #rt-status (data-state online / reconnecting / offline);
// - reconnects with exponential backoff and full jitter;
// - resumes from the last event id it saw, kept in localStorage across page loads (per user),
//   and shows every event once (ids already shown are remembered);
// - dispatches DOM events: `comms:event` (detail = {id, type, data}) for every new event,
//   `comms:frame` for other server frames, `comms:connected` once caught up after a (re)connect;
// - announcements: a new item with a "baru" badge in #inbox-live (if the page has it), the
//   page title counts them, and a browser notification for `segera` / `sangat_segera` when the
//   user allowed notifications (an element with data-enable-notifications asks).

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const SEEN_KEEP = 500;
const CLOSE_UNAUTHENTICATED = 4401;
// A page rendered this recently already shows what a `resync` would reload it for.
const FRESH_PAGE_MS = 60000;
const pageLoadedAt = Date.now();
const URGENT = new Set(["segera", "sangat_segera"]);

const statusEl = document.getElementById("rt-status");
const label = (state) => {
  const fallback = {online: "terhubung", reconnecting: "menyambung ulang", offline: "luring"};
  return (statusEl && statusEl.dataset[`label${state[0].toUpperCase()}${state.slice(1)}`])
    || fallback[state];
};

let socket = null;
let userId = null;
let cursor = null;
let seen = [];
let seenSet = new Set();
let attempt = 0;
let pingTimer = null;
let pongTimer = null;
let reconnectTimer = null;
let stopped = false;
let unread = 0;
const baseTitle = document.title;

function setState(state) {
  if (!statusEl) return;
  statusEl.dataset.state = state;
  statusEl.textContent = label(state);
}

const storageKey = (name) => `comms.rt.${name}.${userId}`;

function load() {
  try {
    const stored = localStorage.getItem(storageKey("cursor"));
    cursor = stored === null ? null : Number(stored);
    seen = JSON.parse(localStorage.getItem(storageKey("seen")) || "[]");
  } catch {
    cursor = null;
    seen = [];
  }
  seenSet = new Set(seen);
}

function save() {
  try {
    localStorage.setItem(storageKey("cursor"), String(cursor));
    localStorage.setItem(storageKey("seen"), JSON.stringify(seen));
  } catch {
    // Private mode or a full storage: the cursor then lives as long as the page.
  }
}

function markSeen(id) {
  seenSet.add(id);
  seen.push(id);
  if (seen.length > SEEN_KEEP) seenSet.delete(seen.shift());
}

export function send(frame) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

function schedulePing() {
  clearTimeout(pingTimer);
  pingTimer = setTimeout(() => {
    send({type: "ping"});
    // No pong: the connection is dead without a close (a sleeping laptop, a NAT timeout).
    pongTimer = setTimeout(() => socket && socket.close(), PONG_TIMEOUT_MS);
  }, PING_EVERY_MS);
}

function connect() {
  clearTimeout(reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    schedulePing();
    onFrame(frame);
  });
  socket.addEventListener("close", (close) => {
    clearTimeout(pingTimer);
    clearTimeout(pongTimer);
    socket = null;
    if (stopped) return;
    if (close.code === CLOSE_UNAUTHENTICATED) {
      // Logged out (here or elsewhere) or deactivated: do not knock again.
      setState("offline");
      return;
    }
    setState(navigator.onLine === false ? "offline" : "reconnecting");
    // Full jitter: thousands of tabs that lost the same server do not return in step.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
    attempt += 1;
    reconnectTimer = setTimeout(connect, Math.random() * ceiling);
  });
}

function onFrame(frame) {
  if (typeof frame.id === "number") {
    onEvent(frame);
    return;
  }
  if (frame.type === "hello") {
    if (userId !== frame.user) {
      userId = frame.user;
      load();
    }
    // A first visit starts from now; otherwise ask for everything after the last id seen.
    if (cursor === null || Number.isNaN(cursor)) cursor = frame.last;
    send({type: "resume", after: cursor});
  } else if (frame.type === "resumed") {
    cursor = Math.max(cursor, frame.last);
    save();
    if (frame.more) {
      send({type: "resume", after: frame.last});
      return;
    }
    attempt = 0;
    setState("online");
    document.dispatchEvent(new CustomEvent("comms:connected", {detail: {last: cursor}}));
  } else if (frame.type === "resync") {
    // Too far behind for the server's event log: continue from `last` on a reloaded page.
    cursor = frame.last;
    save();
    if (Date.now() - pageLoadedAt > FRESH_PAGE_MS) {
      location.reload();
      return;
    }
    attempt = 0;
    setState("online");
    document.dispatchEvent(new CustomEvent("comms:connected", {detail: {last: cursor}}));
  } else if (frame.type === "pong") {
    clearTimeout(pongTimer);
  }
  document.dispatchEvent(new CustomEvent("comms:frame", {detail: frame}));
}

function onEvent(event) {
  if (seenSet.has(event.id)) return;
  markSeen(event.id);
  cursor = Math.max(cursor ?? 0, event.id);
  save();
  if (event.type.startsWith("announcement.")) showAnnouncement(event);
  document.dispatchEvent(new CustomEvent("comms:event", {detail: event}));
}

function showAnnouncement(event) {
  const data = event.data || {};
  const list = document.getElementById("inbox-live");
  if (list && data.id !== undefined) {
    const existing = list.querySelector(`[data-id="${CSS.escape(String(data.id))}"]`);
    const item = existing || document.createElement("li");
    item.className = "card unread";
    item.dataset.id = String(data.id);
    item.dataset.live = event.type;
    item.replaceChildren();
    const link = document.createElement("a");
    link.href = data.url || "#";
    const title = document.createElement("strong");
    title.textContent = data.title || "";
    link.append(title);
    const badge = document.createElement("span");
    badge.className = "badge new";
    badge.textContent = (list.dataset.labelNew || "baru");
    const meta = document.createElement("div");
    meta.className = "muted";
    meta.textContent = [data.issuer && data.issuer.name, data.reference_number]
      .filter(Boolean).join(" · ");
    item.append(link, " ", badge, meta);
    list.prepend(item);
    // The "nothing yet" line of an empty inbox is the one item without an announcement id.
    list.querySelectorAll("li:not([data-id])").forEach((line) => line.remove());
  }
  if (event.type === "announcement.published") {
    unread += 1;
    document.title = `(${unread}) ${baseTitle}`;
  }
  if (URGENT.has(data.priority) && "Notification" in window
      && Notification.permission === "granted") {
    const notification = new Notification(data.title || "", {
      body: data.issuer ? data.issuer.name : "",
      tag: `announcement-${data.id}`,
    });
    notification.addEventListener("click", () => {
      window.focus();
      if (data.url) location.assign(data.url);
    });
  }
}

document.addEventListener("click", (click) => {
  const asker = click.target.closest && click.target.closest("[data-enable-notifications]");
  if (asker && "Notification" in window) Notification.requestPermission();
  const item = click.target.closest && click.target.closest("#inbox-live .unread");
  if (item && item.dataset.live === "announcement.published" && unread > 0) {
    unread -= 1;
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  }
});
window.addEventListener("online", () => {
  if (!socket && !stopped) connect();
});
window.addEventListener("offline", () => setState("offline"));
window.addEventListener("pagehide", () => {
  stopped = true;
  if (socket) socket.close(1000);
});
window.addEventListener("pageshow", (show) => {
  // Back from the back/forward cache: the page is alive again, so is its connection.
  if (show.persisted) {
    stopped = false;
    connect();
  }
});

setState("reconnecting");
connect();
