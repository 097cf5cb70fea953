// The bitnet chat page: streams replies from /v1/chat/completions and
// polls /v1/stats for the server panel. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const conversation = [];
let controller = null;

function apiKey() {
  return $("apikey").value.trim();
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = apiKey();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function addMessage(role, text) {
  const empty = $("empty");
  if (empty) empty.remove();
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("log").appendChild(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
}

// errorText reads OpenAI's {"error":{"message"}} shape, falling back to
// the status line for anything else.
async function errorText(res) {
  try {
    const body = await res.json();
    if (body && body.error && body.error.message) return `${res.status}: ${body.error.message}`;
  } catch (_) { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}

async function send(text) {
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  const out = addMessage("assistant", "");
  out.dataset.state = "streaming";
  out.dataset.chunks = "0";
  const body = out.appendChild(document.createElement("span"));
  body.className = "text";
  const started = performance.now();
  let firstAt = 0;
  let reply = "";
  let usage = null;
  let finish = "";
  controller = new AbortController();
  setBusy(true);
  try {
    const req = {
      messages: conversation,
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number($("temperature").value),
      max_tokens: Number($("max_tokens").value),
    };
    const res = await fetch("v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(req), signal: controller.signal,
    });
    if (!res.ok) throw new Error(await errorText(res));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let finished = false;
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      // Events end with a blank line; a read may hold several, or half of one.
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") { finished = true; break; }
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) usage = chunk.usage;
          for (const c of chunk.choices || []) {
            if (c.delta && c.delta.content) {
              if (!firstAt) firstAt = performance.now();
              reply += c.delta.content;
              body.textContent = reply;
              out.dataset.chunks = String(Number(out.dataset.chunks) + 1);
              out.scrollIntoView({ block: "end" });
            }
            if (c.finish_reason) finish = c.finish_reason;
          }
        }
      }
    }
    if (!finished) throw new Error("the stream ended early");
    out.dataset.state = "done";
  } catch (err) {
    out.dataset.state = err.name === "AbortError" ? "stopped" : "error";
    if (err.name !== "AbortError") {
      out.classList.add("error");
      body.textContent = reply + (reply ? "\n" : "") + "Error: " + err.message;
    }
  } finally {
    controller = null;
    setBusy(false);
  }
  if (reply) conversation.push({ role: "assistant", content: reply });
  else if (out.dataset.state !== "error") conversation.pop();
  const meta = out.appendChild(document.createElement("span"));
  meta.className = "meta";
  const secs = (performance.now() - started) / 1000;
  const parts = [];
  if (usage) {
    parts.push(`${usage.completion_tokens} tokens`);
    const gen = firstAt ? (performance.now() - firstAt) / 1000 : 0;
    if (gen > 0 && usage.completion_tokens > 1) parts.push(`${((usage.completion_tokens - 1) / gen).toFixed(1)} tok/s`);
  }
  if (firstAt) parts.push(`first token ${((firstAt - started) / 1000).toFixed(2)} s`);
  parts.push(`${secs.toFixed(2)} s`);
  if (finish) parts.push(finish);
  if (out.dataset.state === "stopped") parts.push("stopped");
  meta.textContent = parts.join(" · ");
}

function fmtBytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function fmtSecs(s) {
  if (!s) return "–";
  return s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}

const rates = [];

function drawSpark() {
  const c = $("spark");
  const ctx = c.getContext("2d");
  const w = c.width, h = c.height;
  ctx.clearRect(0, 0, w, h);
  if (rates.length < 2) return;
  const top = Math.max(...rates, 1);
  ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent") || "#2f5fd0";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  rates.forEach((r, i) => {
    const x = (i / 59) * w;
    const y = h - 2 - (r / top) * (h - 6);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

async function pollStats() {
  const status = $("status");
  try {
    const res = await fetch("v1/stats", { headers: headers() });
    if (res.status === 401) {
      status.textContent = "API key needed";
      status.className = "badge bad";
      return;
    }
    if (!res.ok) throw new Error(res.statusText);
    const s = await res.json();
    $("model").textContent = s.model;
    status.textContent = s.draining ? "draining" : s.ready ? "ready" : "loading";
    status.className = "badge " + (s.ready ? "ok" : "bad");
    $("s-tps").textContent = s.tokens_per_second.toFixed(1);
    $("s-busy").textContent = `${s.busy_slots} / ${s.slots}`;
    $("s-queue").textContent = String(s.queued);
    $("s-inflight").textContent = String(s.in_flight);
    $("s-ttft").textContent = fmtSecs(s.mean_ttft_seconds);
    $("s-itl").textContent = fmtSecs(s.mean_token_latency_seconds);
    $("s-gen").textContent = String(s.generated_tokens);
    $("s-kv").textContent = fmtBytes(s.memory.kv_cache_bytes);
    $("s-rss").textContent = fmtBytes(s.memory.rss_bytes);
    $("s-heap").textContent = fmtBytes(s.memory.go_heap_bytes);
    $("s-weights").textContent = fmtBytes(s.memory.model_mapped_bytes + s.memory.model_heap_bytes);
    rates.push(s.tokens_per_second);
    if (rates.length > 60) rates.shift();
    drawSpark();
  } catch (_) {
    status.textContent = "offline";
    status.className = "badge bad";
  }
}

function submit() {
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  send(text);
}

function init() {
  const saved = localStorage.getItem("bitnet.apiKey");
  if (saved) $("apikey").value = saved;
  $("apikey").addEventListener("change", () => {
    localStorage.setItem("bitnet.apiKey", apiKey());
    pollStats();
  });
  $("form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  $("stop").addEventListener("click", () => { if (controller) controller.abort(); });
  $("clear").addEventListener("click", () => {
    if (controller) controller.abort();
    conversation.length = 0;
    $("log").replaceChildren();
  });
  pollStats();
  setInterval(pollStats, 1000);

  // ?q=...&autosend=1 sends a message on load: a link that demonstrates
  // the server, and what the headless-browser test drives.
  const params = new URLSearchParams(location.search);
  for (const name of ["temperature", "max_tokens"]) {
    if (params.has(name)) $(name).value = params.get(name);
  }
  if (params.has("q")) {
    $("input").value = params.get("q");
    if (params.get("autosend") === "1") submit();
  }
}

init();
