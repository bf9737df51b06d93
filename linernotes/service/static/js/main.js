// The review app: two views (the track list, one track) behind the URL hash, keyboard
// shortcuts with a `?` overlay, and the jobs dialog (progress streamed by the server).

import { api, el, toast } from "./api.js";
import { TrackList } from "./list.js";
import { TrackView } from "./track.js";

const $ = (id) => document.getElementById(id);

class App {
  constructor(vocab, health) {
    this.vocab = vocab;
    this.health = health;
    this.view = null;
    this.list = new TrackList(this);
    this.trackView = new TrackView(this);
    this.fillVocab();
    window.addEventListener("hashchange", () => this.route());
    document.addEventListener("keydown", (e) => this.onKey(e));
    $("help-button").addEventListener("click", () => this.help());
    new Jobs(vocab);
  }

  fillVocab() {
    const field = $("field-filter");
    for (const f of this.vocab.fields) field.append(el("option", { value: f }, f));
    field.value = this.list.query.field;
    const lang = $("bulk-language");
    for (const [code, name] of Object.entries(this.vocab.languages)) lang.append(el("option", { value: code }, `${name} (${code})`));
  }

  route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash.startsWith("/track/")) {
      this.view = "track";
      $("list-view").hidden = true;
      $("track-view").hidden = false;
      this.trackView.open(hash.slice(7)).catch((err) => toast(err.message, "error"));
    } else {
      if (this.view === "track") this.trackView.audio.pause();
      this.view = "list";
      $("track-view").hidden = true;
      $("list-view").hidden = false;
      this.list.load().catch((err) => toast(err.message, "error"));
    }
  }

  openTrack(id) {
    location.hash = "#/track/" + encodeURIComponent(id);
  }

  showList() {
    if (this.trackView.isDirty() && !confirm("Leave this track without saving?")) return;
    location.hash = "#/";
  }

  keymap() {
    const common = { "?": ["this help", () => this.help()], "g": ["jobs", () => $("jobs-button").click()] };
    return this.view === "track"
      ? { ...this.trackView.keys(), "Escape": ["back to the list", () => this.showList()], ...common }
      : { ...this.list.keys(), ...common };
  }

  onKey(e) {
    const target = e.target;
    const typing = target.matches && target.matches("input, textarea, select");
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s" && this.view === "track") {
      e.preventDefault();
      if (typing) target.dispatchEvent(new Event("change"));
      this.trackView.save();
      return;
    }
    if (typing) {
      if (e.key === "Escape") target.blur();
      if (e.key === "Enter" && target.tagName === "INPUT") target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || $("help").open || $("jobs").open) return;
    if (e.key.toLowerCase() === "z" && e.ctrlKey) return;
    const name = (e.shiftKey && e.key.startsWith("Arrow") ? "Shift+" : "") + e.key;
    const action = this.keymap()[name];
    if (action) {
      e.preventDefault();
      action[1]();
    }
  }

  help() {
    const rows = Object.entries(this.keymap()).map(([key, [what]]) =>
      el("tr", {}, el("td", {}, el("kbd", {}, key === " " ? "Space" : key)), el("td", {}, what)));
    $("help-body").replaceChildren(el("p", { class: "muted" }, this.view === "track" ? "Track view" : "Track list"),
      el("table", { class: "keys" }, rows), el("p", { class: "muted small" }, "Ctrl+S saves while typing; Esc leaves a field."));
    $("help").showModal();
  }
}

class Jobs {
  constructor(vocab) {
    this.job = null;
    $("job-formats").replaceChildren(...vocab.formats.map((f) =>
      el("label", {}, el("input", { type: "checkbox", value: f, checked: f === "ace-step" }), f)));
    $("jobs-button").addEventListener("click", () => { this.syncKind(); $("jobs").showModal(); });
    $("jobs-close").addEventListener("click", () => $("jobs").close());
    $("job-kind").addEventListener("change", () => this.syncKind());
    $("job-form").addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    $("job-cancel").addEventListener("click", () => this.job && api.cancelJob(this.job));
  }

  syncKind() { $("job-formats").hidden = $("job-kind").value !== "export"; }

  async start() {
    const kind = $("job-kind").value;
    const formats = [...document.querySelectorAll("#job-formats input:checked")].map((i) => i.value);
    try {
      const job = await api.startJob({ kind, formats, force: $("job-force").checked });
      this.follow(job);
    } catch (err) { toast(err.message, "error"); }
  }

  follow(job) {
    this.job = job.id;
    $("job-cancel").disabled = false;
    $("job-download").hidden = true;
    const events = new EventSource(`/api/jobs/${job.id}/events`);
    const update = (data) => {
      const bar = $("job-progress");
      if (data.total) { bar.max = data.total; bar.value = data.done; } else bar.removeAttribute("value");
      if (data.message) $("job-message").textContent = data.message;
      $("job-status").textContent = `${job.kind}: ${data.state || (data.total ? `${data.done}/${data.total}` : "running")}`;
    };
    events.addEventListener("progress", (e) => update(JSON.parse(e.data)));
    events.addEventListener("state", (e) => {
      const data = JSON.parse(e.data);
      update(data);
      $("job-cancel").disabled = true;
      if (data.state === "done" && job.kind === "export") {
        const link = $("job-download");
        link.href = `/api/jobs/${job.id}/download`;
        link.hidden = false;
      }
      toast(`${job.kind} ${data.state}: ${data.message || ""}`, data.state === "done" ? "ok" : "warn");
    });
    events.addEventListener("end", () => events.close());
  }
}

const [vocab, health] = await Promise.all([api.vocabulary(), api.health()]);
$("library").textContent = `${health.root} · ${health.tracks} tracks`;
window.linernotes = new App(vocab, health);
window.linernotes.route();
