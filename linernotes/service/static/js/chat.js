// The chat panel of the track view: ask about the open track. The answer streams in as
// Server-Sent Events over a POST (read from fetch's body stream), with the tool calls the
// text model makes and their results, and notices (cuts, fallbacks). A proposed edit changes
// nothing until Apply: then it is saved like any edit of the field editor, quoting the
// field's version, so a value saved meanwhile by someone else comes back as a conflict
// (shown, with the proposal kept unsaved) instead of being overwritten.

import { el, toast } from "./api.js";

const $ = (id) => document.getElementById(id);
const WHO = { llm: "a text model with tools", audio: "the audio model", measurements: "the measurements alone" };

export class ChatPanel {
  constructor(view, mode) {
    this.view = view;
    this.mode = mode;          // "" when the service has no chat
    this.controller = null;    // the answer under way (AbortController)
    this.answer = null;        // the element the answer's text streams into
    this.track = null;
    $("chat-panel").hidden = !mode;
    if (!mode) return;
    $("chat-mode").textContent = `answers from ${WHO[mode] || mode}`;
    $("chat-form").addEventListener("submit", (e) => { e.preventDefault(); this.ask(); });
    $("chat-question").addEventListener("keydown", (e) => {
      e.stopPropagation();     // typing here is not a shortcut
      if (e.key === "Escape") e.target.blur();
    });
    $("chat-stop").addEventListener("click", () => this.stop());
  }

  // a new conversation for every track opened
  open(trackId) {
    if (!this.mode) return;
    this.stop();
    this.track = trackId;
    this.conversation = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    $("chat-log").replaceChildren(el("div", { class: "muted small" },
      "Ask about this track: sections, tempo in a span, what is heard… Proposed edits wait for you."));
  }

  stop() {
    if (this.controller) this.controller.abort();
  }

  busy(on) {
    $("chat-stop").hidden = !on;
    $("chat-ask").disabled = on;
    $("chat-panel").classList.toggle("answering", on);
  }

  add(node) {
    const log = $("chat-log");
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  async ask() {
    const question = $("chat-question").value.trim();
    if (!question || this.controller) return;
    $("chat-question").value = "";
    this.add(el("div", { class: "chat-q" }, question));
    this.answer = null;
    const controller = new AbortController();
    this.controller = controller;
    this.busy(true);
    try {
      const response = await fetch("/api/chat", {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ track: this.track, question, conversation: this.conversation }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${response.status}`);
      }
      await readEvents(response.body, (event) => this.show(event));
    } catch (err) {
      if (err.name === "AbortError") this.add(el("div", { class: "chat-note" }, "stopped"));
      else this.add(el("div", { class: "chat-error" }, err.message));
    } finally {
      if (this.controller === controller) this.controller = null;
      this.busy(false);
    }
  }

  show(event) {
    const data = event.data || {};
    if (event.type === "token") {
      if (!this.answer) this.answer = this.add(el("div", { class: "chat-a" }));
      this.answer.append(event.text);
    } else if (event.type === "tool_call") {
      this.answer = null;  // text after the tools starts a new paragraph
      this.add(el("div", { class: "chat-tool", dataset: { call: data.id, tool: data.name } },
        el("b", {}, data.name), ` ${args(data.arguments)}`));
    } else if (event.type === "tool_result") {
      const line = [...document.querySelectorAll("#chat-log .chat-tool")].find((n) => n.dataset.call === data.id);
      const note = el("div", { class: `chat-result ${data.ok ? "ok" : "failed"}` }, data.summary || "");
      if (line) line.append(note); else this.add(note);
      if (data.name === "propose_edit" && data.ok) this.proposal(JSON.parse(data.result));
    } else if (event.type === "notice") {
      if (data.kind !== "edit") this.add(el("div", { class: "chat-note" }, event.text));
    } else if (event.type === "done") {
      if (this.answer) this.answer.classList.add("done");
      else if (event.text) this.add(el("div", { class: "chat-a done" }, event.text));
    } else if (event.type === "error") {
      this.add(el("div", { class: "chat-error" }, event.text));
    }
  }

  // a proposed edit: Apply saves it through the field editor's path (version, 409)
  proposal(p) {
    const card = el("div", { class: "chat-edit" },
      el("span", {}, "proposed: ", el("b", {}, p.field), ` = ${show(p.value)} `,
        el("span", { class: "muted" }, `(now ${show(p.current)})`)));
    const apply = el("button", { type: "button", class: "primary", onclick: async () => {
      if (p.track !== this.view.track.id) return toast(`that edit is for ${p.track}`, "warn");
      apply.disabled = dismiss.disabled = true;
      this.view.stage(p.field, p.value);
      const locked = this.view.track.fields[p.field]?.locked;
      const saved = await this.view.act(p.field, "edit", { value: p.value, lock: locked || null });
      card.classList.add(saved ? "applied" : "conflict");
      card.append(el("span", { class: "state" }, saved ? "applied" : "not applied: changed meanwhile (kept unsaved)"));
    } }, "Apply");
    const dismiss = el("button", { type: "button", class: "quiet", onclick: () => {
      apply.disabled = dismiss.disabled = true;
      card.classList.add("dismissed");
    } }, "Dismiss");
    this.add(card).append(apply, dismiss);
  }
}

// Server-Sent Events from a fetch body: `event:` and `data:` lines, a blank line ends one
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

function args(text) {
  try {
    const parsed = typeof text === "string" ? JSON.parse(text) : text;
    return Object.entries(parsed || {}).filter(([k]) => k !== "track")
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
  } catch { return String(text || ""); }
}

const show = (v) => (v == null ? "—" : Array.isArray(v) ? v.join(", ") : String(v));
