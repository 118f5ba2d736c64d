// What the DebugFlow front end does, with its own client logic
// (frontend/lib/api.ts and frontend/lib/store/chatStore.ts): the same headers on
// every fetch, the same chat request, the same stream reading, from another origin.
// The backend URL, the token and the texts come in the location's fragment.
"use strict";

const params = new URLSearchParams(location.hash.slice(1));
const rawBaseUrl = params.get("api") || "";
const BASE_URL = rawBaseUrl.endsWith("/") ? rawBaseUrl.slice(0, -1) : rawBaseUrl;
const TOKEN = params.get("token");
const QUESTION = params.get("message") || "TypeError: x is undefined";
const MEMORY = params.get("memory") || "Uses Python 3.12 on Debian";

const $ = (id) => document.getElementById(id);

function setState(state) {
  document.body.dataset.state = state;
  $("state").textContent = state;
}

// api.ts: the signed-in Firebase user's ID token (signin.js signs in through
// the Firebase SDK), or the token the test passed in the fragment.
const getAuthToken = async () =>
  window.firebaseAuth ? window.firebaseAuth.currentUser.getIdToken() : TOKEN;

// api.ts: Content-Type on every request, even GET; the Firebase ID token as Bearer.
const getAuthHeaders = async () => {
  const token = await getAuthToken();
  return {
    "Content-Type": "application/json",
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  };
};

const api = {
  async request(endpoint, options = {}) {
    const headers = { ...(await getAuthHeaders()), ...options.headers };
    const response = await fetch(`${BASE_URL}${endpoint}`, { ...options, headers });
    if (!response.ok) {
      const errorData = await response.json().catch(() => ({}));
      throw new Error(`${endpoint}: HTTP ${response.status} ${errorData.error || response.statusText}`);
    }
    return response.json();
  },
  get(endpoint) {
    return this.request(endpoint, { method: "GET" });
  },
  post(endpoint, body) {
    return this.request(endpoint, { method: "POST", body: JSON.stringify(body) });
  },
};

// chatStore.sendMessage: POST /api/chat, then read `data: ` lines as they arrive.
async function sendMessage(sessionId, content) {
  const res = await fetch(`${BASE_URL}/api/chat`, {
    method: "POST",
    headers: await getAuthHeaders(),
    body: JSON.stringify({
      sessionId,
      message: content,
      parentId: undefined,
      skipUserMessage: undefined,
      isContinuation: undefined,
    }),
  });
  if (!res.ok) {
    throw new Error(`/api/chat: HTTP ${res.status}`);
  }
  const result = { messageId: null, sawDone: false, errors: [] };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let done = false;
  let buffer = "";
  let accumulatedContent = "";
  let deltas = 0;
  while (!done) {
    const { value, done: doneReading } = await reader.read();
    done = doneReading;
    buffer += decoder.decode(value, { stream: !done });
    const lines = buffer.split("\n");
    buffer = lines.pop() || "";
    for (const line of lines) {
      if (!line.startsWith("data: ")) continue;
      const dataStr = line.slice(6);
      if (dataStr === "[DONE]") {
        done = true;
        result.sawDone = true;
        break;
      }
      const data = JSON.parse(dataStr);
      if (data.status) continue;
      if (data.title) $("title").textContent = data.title;
      if (data.messageId) result.messageId = data.messageId;
      if (data.content) {
        accumulatedContent += data.content;
        deltas += 1;
        $("answer").textContent = accumulatedContent;
        $("deltas").textContent = String(deltas);
      }
      if (data.error) {
        result.errors.push(data.error);
        $("error").textContent = "\u26a0\ufe0f " + data.error;
      }
    }
  }
  return result;
}

async function main() {
  setState("signing-in");
  // The login page confirms every Firebase sign-in with the backend.
  const confirmed = await api.get("/protected");
  $("signed-in").textContent = confirmed.dbUser.id;

  setState("creating-session");
  const session = await api.post("/api/sessions", { project_id: null });
  $("session").textContent = session.id;

  setState("streaming");
  $("question").textContent = QUESTION;
  const result = await sendMessage(session.id, QUESTION);

  // After the stream the store reloads the session's messages.
  const fresh = await api.get(`/api/sessions/${session.id}/messages`);
  const stored = fresh.find((m) => m.id === result.messageId);
  $("stored").textContent = stored ? stored.content : "(not stored)";

  // The settings page: add a memory, list the ACTIVE ones.
  const added = await api.post("/api/user/memories", { content: MEMORY });
  if (added.status === "LIMIT_EXCEEDED") throw new Error("memory limit reached");
  const memories = await api.get("/api/user/memories");
  for (const memory of memories.filter((m) => m.status === "ACTIVE")) {
    const item = document.createElement("li");
    item.textContent = memory.content;
    $("memories").appendChild(item);
  }

  if (result.errors.length) setState("failed");
  else setState(result.sawDone ? "done" : "stopped");
}

main().catch((err) => {
  // What the front end shows when a fetch fails, plus the reason.
  $("error").textContent = `Error processing request. Connection may have dropped. (${err})`;
  setState("failed");
});
