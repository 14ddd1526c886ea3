// Issuer dashboard of an announcement's receipts: live numbers without reloading.
//
// Uses the page's one gateway connection (realtime.js): after every (re)connect it subscribes
// to the announcement's statistics ({"type":"subscribe","stats":id}); the gateway forgets
// subscriptions with the connection. Each `receipt.summary` event (at most one a second per
// announcement, throttled by the server) is a hint: the page fetches its summary fragment,
// rendered with the viewer's own scope (an auditor sees their subtree only) and keyed by the
// event id so that dashboards share one computation. Every (re)subscription refetches once, so
// whatever changed while offline shows up.

import {send} from "./realtime.js";

const root = document.getElementById("receipt-dashboard");

if (root) {
  const announcement = Number(root.dataset.announcement);
  const summaryUrl = root.dataset.summaryUrl;
  const status = document.getElementById("live-status");
  let running = false;
  let queued = null;

  const setLive = (live, text) => {
    root.dataset.live = live ? "1" : "0";
    if (status) status.textContent = text || (live ? root.dataset.liveText
                                                    : root.dataset.offlineText);
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

  const subscribe = () => send({type: "subscribe", stats: announcement});

  document.addEventListener("comms:connected", subscribe);
  document.addEventListener("comms:frame", (e) => {
    const frame = e.detail || {};
    if (frame.type === "subscribed" && frame.stats === announcement) {
      setLive(true);
      refresh(0);
    } else if (frame.type === "error" && root.dataset.live !== "1") {
      setLive(false, frame.message || frame.code);
    }
  });
  document.addEventListener("comms:event", (e) => {
    const event = e.detail || {};
    if (event.type === "receipt.summary" && event.data
        && event.data.announcement === announcement) {
      refresh(event.id);
    }
  });
  const statusEl = document.getElementById("rt-status");
  if (statusEl) {
    // Lost connection: not live until the next subscription.
    new MutationObserver(() => {
      if (statusEl.dataset.state !== "online") setLive(false);
    }).observe(statusEl, {attributes: true, attributeFilter: ["data-state"]});
  }
  // Already connected when this module ran: subscribe now (a repeat is harmless).
  subscribe();
}
