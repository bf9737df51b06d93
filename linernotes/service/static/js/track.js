// One track: waveform and playback, the field editor (canonical dropdowns, provenance,
// alternatives), lyrics with section tags, conflicts, quality, history and the chat panel.
// Changes stay local (marked unsaved) until saved; every save quotes the field's version, and a 409
// shows what someone else saved meanwhile instead of overwriting it.

import { api, author, el, fmtTime, toast } from "./api.js";
import { ChatPanel } from "./chat.js";
import { gridFor, Waveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const SECTION_TAGS = ["Intro", "Verse", "Pre-Chorus", "Chorus", "Post-Chorus", "Bridge", "Hook",
  "Breakdown", "Drop", "Solo", "Interlude", "Instrumental", "Outro"];
const BADGE = { measured: "measured", model: "model", human: "human", tagger: "tagger", tags: "tag", lookup: "lookup", default: "none" };
const LIST_FIELDS = new Set(["genres", "moods", "instruments"]);

export class TrackView {
  constructor(app) {
    this.app = app;
    this.audio = $("player");
    this.wave = new Waveform($("waveform"), this.audio);
    this.track = null;
    this.dirty = {};      // field -> unsaved value
    this.current = null;  // the field the shortcuts act on
    this.neighbours = {};
    this.chat = new ChatPanel(this, app.health.chat);
    this.bind();
  }

  bind() {
    $("play").addEventListener("click", () => this.togglePlay());
    $("save").addEventListener("click", () => this.save());
    $("back").addEventListener("click", () => this.app.showList());
    $("prev-track").addEventListener("click", () => this.go(-1));
    $("next-track").addEventListener("click", () => this.go(1));
    $("click-beats").addEventListener("change", (e) => { this.wave.clickOn = e.target.checked; });
    this.audio.addEventListener("play", () => { $("play").textContent = "❚❚ Pause"; });
    this.audio.addEventListener("pause", () => { $("play").textContent = "▶ Play"; });
    this.audio.addEventListener("timeupdate", () => this.clock());
    this.audio.addEventListener("loadedmetadata", () => this.clock());
    $("lyrics").addEventListener("input", (e) => { this.stage("lyrics", e.target.value, false); this.outline(); });
    $("section-tags").replaceChildren(...SECTION_TAGS.map((tag) =>
      el("button", { type: "button", class: "tag", onclick: () => this.insertTag(tag) }, `[${tag}]`)));
    window.addEventListener("beforeunload", (e) => { if (this.isDirty()) e.preventDefault(); });
  }

  isDirty() { return Object.keys(this.dirty).length > 0; }

  async open(id) {
    this.dirty = {};
    this.current = null;
    this.audio.pause();
    const track = await api.track(id);
    this.show(track);
    this.chat.open(id);
    this.audio.src = track.audio_url;
    this.wave.setPeaks([], track.duration);
    api.peaks(id).then((p) => this.track && this.track.id === id && this.wave.setPeaks(p.peaks, p.duration))
      .catch((err) => toast(`waveform: ${err.message}`, "error"));
    api.neighbours(id, this.app.list.params()).then((n) => {
      this.neighbours = n;
      $("track-position").textContent = n.position == null ? "" : `${n.position + 1} of ${n.total}`;
      $("prev-track").disabled = !n.prev_id;
      $("next-track").disabled = !n.next_id;
    });
  }

  // draw everything from the server's view of the track (unsaved values kept on top)
  show(track) {
    this.track = track;
    if (!this.current || !track.fields[this.current]) {
      this.current = track.review.find((f) => f !== "lyrics") || track.field_order[0];
    }
    $("track-title").textContent = track.id;
    this.renderFields();
    this.renderGrid();
    const lyrics = "lyrics" in this.dirty ? this.dirty.lyrics : track.fields.lyrics?.value || "";
    if (document.activeElement !== $("lyrics")) $("lyrics").value = lyrics;
    this.outline();
    this.renderSide();
    this.markDirty();
    api.history(track.id).then((h) => this.renderHistory(h));
  }

  value(name) {
    return name in this.dirty ? this.dirty[name] : this.track.fields[name]?.value;
  }

  renderGrid() {
    const t = this.track;
    const grid = gridFor(t.beats, t.downbeats, t.measured_bpm, Number(this.value("bpm")));
    this.wave.setGrid(grid.beats, grid.downbeats);
    $("grid-info").textContent = `${grid.beats.length} beats · ${grid.downbeats.length} downbeats` +
      (grid.note ? ` · ${grid.note}` : "");
  }

  renderFields() {
    const rows = this.track.field_order.filter((n) => n !== "lyrics").map((n) => this.fieldRow(n));
    $("fields").replaceChildren(...rows);
  }

  fieldRow(name) {
    const f = this.track.fields[name];
    const vocab = this.app.vocab;
    const dirty = name in this.dirty;
    const control = editorFor(name, this.value(name), vocab, (v) => this.stage(name, v));
    control.id = `field-${name}`;
    const alts = f.alternatives.map((a) => el("button", { type: "button", class: "alt",
      title: `${a.source}${a.origin ? " · " + a.origin : ""}${a.score != null ? " · score " + a.score.toFixed(2) : ""}`,
      onclick: () => this.pick(name, a.value) }, show(a.value), el("small", {}, a.origin || a.source)));
    const tempo = name === "bpm" ? [
      el("button", { type: "button", class: "alt", title: "double (d)", onclick: () => this.scaleBpm(2) }, "×2"),
      el("button", { type: "button", class: "alt", title: "half (h)", onclick: () => this.scaleBpm(0.5) }, "×½")] : [];
    return el("div", { class: ["field", name === this.current && "current", f.review && "flagged",
      dirty && "dirty"].filter(Boolean).join(" "), dataset: { field: name },
    onclick: () => { this.current = name; this.highlight(); } },
    el("label", { for: `field-${name}` }, name.replace(/_/g, " ")),
    el("div", { class: "control" }, control, ...tempo),
    el("div", { class: "meta" },
      el("span", { class: `badge ${f.provenance}`, title: f.origin ? `from ${f.origin}` : null }, BADGE[f.provenance] || f.provenance),
      el("span", { class: "conf", title: "confidence" }, f.value == null ? "" : f.confidence.toFixed(2)),
      f.locked ? el("span", { class: "lock", title: "locked (verified)" }, "locked") : null,
      dirty ? el("span", { class: "unsaved", title: "unsaved" }, "●") : null),
    f.review || f.alternatives.length ? el("div", { class: "why" },
      f.reasons.map((r) => el("div", { class: "reason" }, r)),
      alts.length ? el("div", { class: "alts" }, "pick: ", alts) : null) : null);
  }

  highlight() {
    for (const row of document.querySelectorAll("#fields .field")) {
      row.classList.toggle("current", row.dataset.field === this.current);
    }
    const row = document.querySelector("#fields .field.current");
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  renderSide() {
    const t = this.track;
    $("conflicts").replaceChildren(...(t.conflicts.length ? t.conflicts.map((c) => el("div", { class: "conflict" },
      el("b", {}, c.field), `: ${show(c.chosen)} (${c.chosen_source}) over ${show(c.other)} (${c.other_source}) — ${c.reason} `,
      c.chosen_source !== "human" && c.other != null ? el("button", { type: "button", class: "alt",
        onclick: () => this.pick(c.field, c.other) }, `use ${show(c.other)}`) : null)) : [el("span", { class: "muted" }, "none")]));
    const q = t.quality;
    $("quality").replaceChildren(el("div", {}, `score ${q.score == null ? "–" : q.score.toFixed(2)}` +
      (q.objective == null ? "" : ` (objective ${q.objective.toFixed(2)})`)),
    ...q.problems.map((p) => el("div", { class: "problem" }, p)));
  }

  renderHistory(history) {
    $("history").replaceChildren(...(history.length ? history.slice().reverse().map((h) => el("li",
      { class: h.undone ? "undone" : null }, `${h.at.replace("T", " ").slice(0, 19)} ${h.author}: ${h.field} = ${show(h.value)}`,
      h.locked ? " (locked)" : "", h.undone ? " (undone)" : "")) : [el("li", { class: "muted" }, "no human edits yet")]));
  }

  // a local change: marked unsaved until saved
  stage(name, value, redraw = true) {
    const saved = this.track.fields[name]?.value;
    if (same(value, saved)) delete this.dirty[name]; else this.dirty[name] = value;
    this.current = name === "lyrics" ? this.current : name;
    if (redraw) { this.renderFields(); this.renderGrid(); }
    this.markDirty();
  }

  markDirty() {
    const n = Object.keys(this.dirty).length;
    $("dirty").hidden = n === 0;
    $("dirty").textContent = `● ${n} unsaved`;
    document.title = `${n ? "● " : ""}linernotes review`;
    $("lyrics").classList.toggle("dirty", "lyrics" in this.dirty);
  }

  scaleBpm(factor) {
    const bpm = Number(this.value("bpm"));
    if (!bpm) return toast("no BPM to change", "warn");
    this.stage("bpm", Math.round(bpm * factor * 1000) / 1000);
  }

  async pick(name, value) {
    await this.act(name, "accept", { value });
  }

  // one server change on one field, quoting its version; 409 -> show theirs, keep ours
  async act(name, action, extra = {}) {
    const f = this.track.fields[name];
    const body = { expected_version: f.version, author: author(), ...extra };
    try {
      const track = action === "edit" ? await api.edit(this.track.id, name, body)
        : await api.action(this.track.id, name, action, body);
      if (action !== "undo" || !(name in this.dirty)) delete this.dirty[name];
      this.show(track);
      return true;
    } catch (err) {
      if (err.status === 409 && err.body.current) {
        this.track.fields[name] = err.body.current;
        this.renderFields();
        toast(`${name}: ${err.body.detail}. Now ${show(err.body.current.value)}` +
          ` (${err.body.current.origin || err.body.current.provenance}); your value is kept unsaved — save again to overwrite.`, "warn", 8000);
      } else {
        toast(`${name}: ${err.message}`, "error");
      }
      return false;
    }
  }

  async save() {
    for (const [name, value] of Object.entries({ ...this.dirty })) {
      const locked = this.track.fields[name].locked;
      if (!(await this.act(name, "edit", { value, lock: locked || null }))) return;
    }
    toast("saved", "ok", 1500);
  }

  async lock() {
    const name = this.current;
    const f = this.track.fields[name];
    if (name in this.dirty) return this.act(name, "edit", { value: this.dirty[name], lock: true });
    return this.act(name, "lock", { locked: !f.locked });
  }

  accept() {
    if (this.current in this.dirty) return toast("save or undo the unsaved value first", "warn");
    return this.act(this.current, "accept", {});
  }

  reject() { return this.act(this.current, "reject", {}); }

  undo() {
    const name = this.current;
    if (name in this.dirty) {
      delete this.dirty[name];
      this.renderFields(); this.renderGrid(); this.markDirty();
      return toast(`${name}: unsaved change dropped`, "info", 1500);
    }
    return this.act(name, "undo", {});
  }

  moveField(step) {
    const order = this.track.field_order.filter((n) => n !== "lyrics");
    const i = order.indexOf(this.current);
    this.current = order[Math.max(0, Math.min(order.length - 1, i + step))];
    this.highlight();
  }

  go(step) {
    const id = step > 0 ? this.neighbours.next_id : this.neighbours.prev_id;
    if (!id) return toast(step > 0 ? "last track" : "first track", "info", 1200);
    if (this.isDirty() && !confirm("Leave this track without saving?")) return;
    this.app.openTrack(id);
  }

  togglePlay() {
    if (this.audio.paused) this.audio.play().catch((err) => toast(`playback: ${err.message}`, "error"));
    else this.audio.pause();
  }

  seekBars(step) {
    const now = this.audio.currentTime;
    const downs = this.track.downbeats;
    const target = step > 0 ? downs.find((t) => t > now + 0.05) : [...downs].reverse().find((t) => t < now - 0.3);
    this.wave.seek(target ?? (step > 0 ? this.track.duration : 0));
  }

  clock() {
    $("clock").textContent = `${fmtTime(this.audio.currentTime)} / ${fmtTime(this.audio.duration || this.track?.duration)}`;
  }

  insertTag(tag) {
    const box = $("lyrics");
    const at = box.selectionStart ?? box.value.length;
    const before = box.value.slice(0, at);
    const text = `${before && !before.endsWith("\n") ? "\n" : ""}[${tag}]\n`;
    box.setRangeText(text, at, box.selectionEnd ?? at, "end");
    box.focus();
    this.stage("lyrics", box.value, false);
    this.outline();
  }

  outline() {
    const text = $("lyrics").value;
    const tags = [...text.matchAll(/^\s*\[([^\]]+)\]\s*$/gm)].map((m) => m[1]);
    const known = new Set(SECTION_TAGS.map((t) => t.toLowerCase()));
    const unknown = tags.filter((t) => !known.has(t.replace(/\s*\d+$/, "").toLowerCase()));
    $("lyrics-outline").textContent = tags.length
      ? `sections: ${tags.join(" → ")}${unknown.length ? ` · unknown tag: [${unknown.join("], [")}]` : ""}`
      : "no section tags yet: use the buttons above";
  }

  keys() {
    return {
      " ": ["play / pause", () => this.togglePlay()],
      "ArrowLeft": ["back 5 s", () => this.wave.seek(this.audio.currentTime - 5)],
      "ArrowRight": ["forward 5 s", () => this.wave.seek(this.audio.currentTime + 5)],
      "Shift+ArrowLeft": ["previous bar", () => this.seekBars(-1)],
      "Shift+ArrowRight": ["next bar", () => this.seekBars(1)],
      "Home": ["to the start", () => this.wave.seek(0)],
      "n": ["next track", () => this.go(1)],
      "p": ["previous track", () => this.go(-1)],
      "ArrowDown": ["next field", () => this.moveField(1)],
      "ArrowUp": ["previous field", () => this.moveField(-1)],
      "j": ["next field", () => this.moveField(1)],
      "k": ["previous field", () => this.moveField(-1)],
      "e": ["edit the field", () => { const c = $(`field-${this.current}`); if (c) c.focus(); }],
      "a": ["accept the field's value", () => this.accept()],
      "x": ["reject the field's value (clear it)", () => this.reject()],
      "l": ["lock / unlock the field (saves it)", () => this.lock()],
      "s": ["save unsaved changes", () => this.save()],
      "u": ["undo (unsaved change, else the last edit of the field)", () => this.undo()],
      "d": ["BPM ×2", () => this.scaleBpm(2)],
      "h": ["BPM ×½", () => this.scaleBpm(0.5)],
      "c": ["click on the beats on / off", () => $("click-beats").click()],
    };
  }
}

// the editor for one field: canonical dropdowns where the values are a closed set
function editorFor(name, value, vocab, onChange) {
  const choose = (options, labels = {}, convert = (v) => v) => {
    const list = [...options];
    const current = value == null ? "" : String(value);
    if (current !== "" && !list.includes(current)) list.unshift(current);
    return el("select", { onchange: (e) => onChange(e.target.value === "" ? null : convert(e.target.value)) },
      el("option", { value: "" }, "—"),
      list.map((o) => el("option", { value: o, selected: o === current }, labels[o] ? `${labels[o]} (${o})` : o)));
  };
  if (name === "key") return choose(vocab.keys);
  if (name === "time_signature") return choose(vocab.time_signatures);
  if (name === "vocal_language") return choose(Object.keys(vocab.languages), vocab.languages);
  if (name === "is_instrumental") {
    return choose(["true", "false"], { true: "instrumental", false: "vocals" }, (v) => v === "true");
  }
  if (name === "caption") {
    return el("textarea", { rows: 3, oninput: (e) => onChange(e.target.value) }, value || "");
  }
  const numeric = name === "bpm" || name === "duration";
  const input = el("input", { type: numeric ? "number" : "text", step: numeric ? "0.01" : null,
    value: value == null ? "" : LIST_FIELDS.has(name) && Array.isArray(value) ? value.join(", ") : value,
    onchange: (e) => {
      const raw = e.target.value.trim();
      if (raw === "") return onChange(null);
      onChange(numeric ? Number(raw) : LIST_FIELDS.has(name) ? raw.split(",").map((s) => s.trim()).filter(Boolean) : raw);
    } });
  return input;
}

const show = (v) => (v == null ? "—" : Array.isArray(v) ? v.join(", ") : typeof v === "number" ? String(+v.toFixed(3)) : String(v));
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
