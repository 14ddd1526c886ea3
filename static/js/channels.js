// Channels, threads and messages: live updates of the pages under /kanal/.
//
// Listens to the `comms:event` DOM event that realtime.js dispatches for every frame of the
// gateway ({id, type, data}). Events are only hints: the page asks the server for what changed
// (HTML fragments rendered with the reader's permissions), so a missed or repeated event
// cannot leave the page wrong — the next one, or a reconnect, catches up from the last id shown.

const csrfToken = () => {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
};

const fragment = (html) => {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
};

const myId = Number((document.querySelector("[data-me]") || {dataset: {}}).dataset.me || 0);

// A fetch that retries a few times with a growing pause: a busy server (or a brief network
// loss on a phone) must not leave a message missing until the next event.
async function fetchRetrying(url, options = {}, attempts = 4) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, {credentials: "same-origin", ...options});
      if (response.ok || response.status < 500 || attempt >= attempts) return response;
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
  }
}

function setBadge(badge, count) {
  if (!badge) return;
  badge.textContent = String(count);
  badge.hidden = count <= 0;
}

// --- Thread page ---------------------------------------------------------------------------

function threadPage(box) {
  const threadId = Number(box.dataset.threadId);
  const composer = document.getElementById("composer");
  let catchingUp = null;

  const lastId = () => {
    const items = box.querySelectorAll("[data-message-id]");
    return items.length ? Number(items[items.length - 1].dataset.messageId) : 0;
  };

  async function markRead() {
    const upTo = lastId();
    if (!upTo || document.hidden) return;
    await fetch(box.dataset.readUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({up_to: upTo}),
    });
  }

  async function catchUp() {
    // One request at a time; a burst of events coalesces into the next request.
    if (catchingUp) return catchingUp.then(catchUp);
    catchingUp = (async () => {
      const response = await fetchRetrying(`${box.dataset.messagesUrl}?after=${lastId()}`);
      if (!response.ok) return;
      const nodes = fragment(await response.text());
      let added = 0;
      for (const article of Array.from(nodes.querySelectorAll("[data-message-id]"))) {
        if (!document.getElementById(article.id)) {
          box.appendChild(article);
          added++;
        }
      }
      // Only a real change moves the read position (a write on the server).
      if (added) await markRead();
    })();
    try { await catchingUp; } finally { catchingUp = null; }
  }

  async function refresh(messageId) {
    const current = document.getElementById(`m${messageId}`);
    if (!current) return catchUp();
    const url = box.dataset.messageUrl.replace(/0\/$/, `${messageId}/`);
    const response = await fetchRetrying(url);
    if (!response.ok) return;
    const replacement = fragment(await response.text()).querySelector("[data-message-id]");
    if (replacement) current.replaceWith(replacement);
  }

  document.addEventListener("comms:event", (e) => {
    const event = e.detail || {};
    const message = (event.data || {}).message;
    if (!message || message.thread_id !== threadId) return;
    if (event.type === "message.created") catchUp();
    else if (["message.edited", "message.deleted", "message.hidden"].includes(event.type)) {
      refresh(message.id);
    }
  });
  // After a reconnect (or coming back to the tab) fetch whatever was missed.
  document.addEventListener("comms:connected", () => catchUp());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) catchUp(); });

  if (!composer) return;
  const body = composer.querySelector("textarea[name=body]");
  const replyTo = composer.querySelector("input[name=reply_to]");
  const replyNote = document.getElementById("composer-reply");
  const errorBox = document.getElementById("composer-error");

  box.addEventListener("click", (e) => {
    const button = e.target.closest("[data-reply]");
    if (!button) return;
    replyTo.value = button.dataset.reply;
    replyNote.querySelector("span").textContent = `↪ ${button.dataset.replyAuthor}`;
    replyNote.hidden = false;
    body.focus();
  });
  document.getElementById("composer-reply-cancel").addEventListener("click", () => {
    replyTo.value = "";
    replyNote.hidden = true;
  });

  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    errorBox.hidden = true;
    const submit = composer.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const response = await fetch(box.dataset.postUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify({body: body.value, reply_to: replyTo.value ? Number(replyTo.value) : null}),
      });
      if (response.status === 201) {
        body.value = "";
        replyTo.value = "";
        replyNote.hidden = true;
        await catchUp();
      } else {
        const payload = await response.json().catch(() => ({}));
        errorBox.textContent = (payload.error && payload.error.message) || response.statusText;
        errorBox.hidden = false;
      }
    } finally {
      submit.disabled = false;
    }
  });
}

// --- Channel list and channel page: unread badges ------------------------------------------

function badges() {
  document.addEventListener("comms:event", (e) => {
    const event = e.detail || {};
    const data = event.data || {};
    if (event.type === "unread.changed") {
      setBadge(document.querySelector(`[data-unread-thread="${data.thread_id}"]`), data.thread_unread);
      if (data.channel_id != null) {
        setBadge(document.querySelector(`[data-unread-channel="${data.channel_id}"]`), data.channel_unread);
      }
    } else if (event.type === "message.created" && data.message) {
      if (data.message.author.id === myId) return;
      for (const badge of [
        document.querySelector(`[data-unread-thread="${data.message.thread_id}"]`),
        data.channel_id != null ? document.querySelector(`[data-unread-channel="${data.channel_id}"]`) : null,
      ]) {
        if (badge) setBadge(badge, Number(badge.textContent || 0) + 1);
      }
    }
  });
}

const box = document.getElementById("messages");
if (box && box.dataset.threadId) threadPage(box);
badges();
