// Issuer dashboard of an announcement's receipts: live numbers without reloading.
//
// Subscribes to the announcement's statistics over the gateway ({"type":"subscribe","stats":id});
// each `receipt.summary` event (at most one a second per announcement, throttled by the server)
// is a hint: the page fetches its summary fragment, rendered with the viewer's own scope (an
// auditor sees their subtree only), keyed by the event id so that dashboards share one
// computation. A reconnect refetches once, so whatever changed while offline shows up.

const root = document.getElementById("receipt-dashboard");

if (root) {
  const announcement = Number(root.dataset.announcement);
  const summaryUrl = root.dataset.summaryUrl;
  const status = document.getElementById("live-status");
  let running = false;
  let queued = null;

  const setStatus = (text, live) => {
    if (status) status.textContent = text;
    root.dataset.live = live ? "1" : "0";
  };

  async function refresh(eventId) {
    // One request at a time; events arriving meanwhile collapse into one more request.
    if (running) { queued = eventId; return; }
    running = true;
    try {
      const response = await fetch(`${summaryUrl}?e=${eventId}`, {
        credentials: "same-origin", headers: {"HX-Request": "true"},
      });
      if (response.ok) {
        const template = document.createElement("template");
        template.innerHTML = await response.text();
        const fresh = template.content.getElementById("summary");
        const current = document.getElementById("summary");
        if (fresh && current) current.replaceWith(fresh);
      }
    } finally {
      running = false;
      if (queued !== null) { const next = queued; queued = null; refresh(next); }
    }
  }

  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/`);
    socket.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.type === "hello") {
        socket.send(JSON.stringify({type: "subscribe", stats: announcement}));
      } else if (frame.type === "subscribed" && frame.stats === announcement) {
        delay = 1000;
        setStatus(root.dataset.liveText || "langsung", true);
        refresh(0);
      } else if (frame.type === "receipt.summary" && frame.data
                 && frame.data.announcement === announcement) {
        refresh(frame.id);
      } else if (frame.type === "error") {
        setStatus(frame.message || frame.code, false);
      }
    });
    socket.addEventListener("close", () => {
      setStatus(root.dataset.offlineText || "terputus, menyambung ulang…", false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}
