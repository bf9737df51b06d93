// The track table: filter, sort, page, keyboard navigation, selection and bulk changes.

import { api, author, el, fmtTime, toast } from "./api.js";

const PAGE = 100;
const $ = (id) => document.getElementById(id);

export class TrackList {
  constructor(app) {
    this.app = app;
    this.items = [];
    this.cursor = 0;
    this.offset = 0;
    this.total = 0;
    this.selected = new Set();
    const saved = JSON.parse(sessionStorage.getItem("linernotes-query") || "{}");
    this.query = { sort: "confidence", desc: false, review: false, flag: "", field: "", q: "",
      quality_max: "", ...saved };
    this.bind();
  }

  // the filter as the API takes it (empty values left out)
  params() {
    const p = { sort: this.query.sort, desc: this.query.desc };
    if (this.query.review) p.review = true;
    for (const k of ["flag", "field", "q", "quality_max"]) if (this.query[k] !== "") p[k] = this.query[k];
    return p;
  }

  bind() {
    const update = (patch) => {
      Object.assign(this.query, patch);
      sessionStorage.setItem("linernotes-query", JSON.stringify(this.query));
      this.offset = 0;
      this.load();
    };
    let typing;
    $("search").addEventListener("input", (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => update({ q: e.target.value.trim() }), 200);
    });
    $("review-only").addEventListener("change", (e) => update({ review: e.target.checked }));
    $("flag-filter").addEventListener("change", (e) => update({ flag: e.target.value }));
    $("field-filter").addEventListener("change", (e) => update({ field: e.target.value }));
    $("quality-max").addEventListener("change", (e) => update({ quality_max: e.target.value }));
    for (const th of document.querySelectorAll("#tracks th.sortable")) {
      th.addEventListener("click", () => {
        const sort = th.dataset.sort;
        update({ sort, desc: this.query.sort === sort ? !this.query.desc : false });
      });
    }
    $("prev-page").addEventListener("click", () => this.page(-1));
    $("next-page").addEventListener("click", () => this.page(1));
    $("select-page").addEventListener("change", (e) => {
      for (const row of this.items) e.target.checked ? this.selected.add(row.id) : this.selected.delete(row.id);
      this.render();
    });
    $("bulk-bar").addEventListener("click", (e) => {
      const op = e.target.dataset && e.target.dataset.bulk;
      if (op) this.bulk(op);
    });
    $("import-file").addEventListener("change", (e) => this.importFile(e.target.files[0], e.target));
    this.syncControls();
  }

  syncControls() {
    $("search").value = this.query.q;
    $("review-only").checked = !!this.query.review;
    $("flag-filter").value = this.query.flag;
    $("field-filter").value = this.query.field;
    $("quality-max").value = this.query.quality_max;
  }

  page(step) {
    const next = this.offset + step * PAGE;
    if (next < 0 || next >= this.total) return;
    this.offset = next;
    this.cursor = 0;
    this.load();
  }

  async load() {
    const data = await api.tracks({ ...this.params(), offset: this.offset, limit: PAGE });
    this.items = data.items;
    this.total = data.total;
    this.cursor = Math.min(this.cursor, Math.max(0, this.items.length - 1));
    const notice = $("indexing");
    notice.hidden = !data.indexing;
    notice.textContent = `Indexing the library… ${data.library_total} tracks found; the list fills as records are read.`;
    if (data.indexing) setTimeout(() => this.app.view === "list" && this.load(), 1000);
    $("page-info").textContent = data.total
      ? `${this.offset + 1}–${this.offset + this.items.length} of ${data.total}` +
        (data.total !== data.library_total ? ` (library: ${data.library_total})` : "")
      : `no tracks match (library: ${data.library_total})`;
    this.render();
  }

  render() {
    const body = document.querySelector("#tracks tbody");
    body.replaceChildren(...this.items.map((row, i) => this.rowNode(row, i)));
    for (const th of document.querySelectorAll("#tracks th.sortable")) {
      th.classList.toggle("sorted", th.dataset.sort === this.query.sort);
      th.classList.toggle("desc", th.dataset.sort === this.query.sort && this.query.desc);
    }
    const bar = $("bulk-bar");
    bar.hidden = this.selected.size === 0;
    $("bulk-count").textContent = `${this.selected.size} selected`;
    this.scrollToCursor();
  }

  rowNode(row, i) {
    const meter = (value, label) => value == null ? el("span", { class: "muted" }, "–")
      : el("span", { class: "meter" }, el("span", { class: "bar", dataset: { level: level(value) } },
        el("i", { class: `w${Math.round(value * 10)}` })), label);
    const check = el("input", { type: "checkbox", checked: this.selected.has(row.id),
      "aria-label": "select", onclick: (e) => { e.stopPropagation(); this.toggle(row.id); } });
    const flags = row.error ? el("span", { class: "chip warn" }, "no record")
      : row.flagged.map((f) => el("span", { class: "chip flag", title: row.flags.join(", ") }, f));
    const locks = row.locked.length ? el("span", { class: "chip lock", title: `locked: ${row.locked.join(", ")}` },
      `locked ${row.locked.length}`) : null;
    const tr = el("tr", { class: i === this.cursor ? "cursor" : null, dataset: { id: row.id },
      onclick: () => { this.cursor = i; this.open(); } },
    el("td", { class: "check" }, check),
    el("td", { class: "path" }, row.id),
    el("td", {}, el("div", {}, row.title || ""), el("div", { class: "muted small" }, row.artist || "")),
    el("td", { class: "num" }, row.bpm == null ? "–" : row.bpm.toFixed(2),
      row.human.includes("bpm") ? el("span", { class: "badge human", title: "set by a person" }, "H") : null),
    el("td", {}, row.key || "–"), el("td", {}, row.time_signature || "–"),
    el("td", { class: "num" }, fmtTime(row.duration)),
    el("td", {}, meter(row.confidence, row.confidence == null ? "" : row.confidence.toFixed(2))),
    el("td", {}, meter(row.quality, row.quality == null ? "" : row.quality.toFixed(2))),
    el("td", { class: "flags" }, flags, locks));
    tr.classList.toggle("selected", this.selected.has(row.id));
    return tr;
  }

  toggle(id) {
    this.selected.has(id) ? this.selected.delete(id) : this.selected.add(id);
    this.render();
  }

  move(step) {
    if (!this.items.length) return;
    const next = this.cursor + step;
    if (next < 0) return this.page(-1);
    if (next >= this.items.length) return this.page(1);
    this.cursor = next;
    this.render();
  }

  scrollToCursor() {
    const row = document.querySelector("#tracks tbody tr.cursor");
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  open() {
    const row = this.items[this.cursor];
    if (row) this.app.openTrack(row.id);
  }

  async bulk(op) {
    if (op === "clear") { this.selected.clear(); return this.render(); }
    const ids = [...this.selected];
    let body = { ids, op, author: author() };
    if (op === "set-genres") body = { ...body, op: "set", field: "genres", value: $("bulk-genre").value };
    if (op === "set-language") body = { ...body, op: "set", field: "vocal_language", value: $("bulk-language").value };
    try {
      const res = await api.bulk(body);
      const errs = Object.entries(res.errors);
      toast(`${res.changed.length} changed, ${res.unchanged.length} unchanged` +
        (errs.length ? `, ${errs.length} refused: ${errs[0][0]}: ${errs[0][1]}` : ""), errs.length ? "warn" : "ok");
      this.load();
    } catch (err) { toast(err.message, "error"); }
  }

  async importFile(file, input) {
    if (!file) return;
    try {
      const res = await api.importEdits(file);
      if (res.problems.length) toast(`nothing imported: ${res.problems.join("; ")}`, "error", 8000);
      else toast(`${res.imported} edits of ${res.tracks} tracks imported`, "ok");
      this.load();
    } catch (err) { toast(err.message, "error"); }
    input.value = "";
  }

  keys() {
    return {
      "j": ["next track in the list", () => this.move(1)],
      "ArrowDown": ["next track in the list", () => this.move(1)],
      "k": ["previous track in the list", () => this.move(-1)],
      "ArrowUp": ["previous track in the list", () => this.move(-1)],
      "Enter": ["open the track", () => this.open()],
      "o": ["open the track", () => this.open()],
      "x": ["select / unselect the track", () => this.items[this.cursor] && this.toggle(this.items[this.cursor].id)],
      "r": ["toggle the needs-review filter", () => { $("review-only").click(); }],
      "/": ["search", () => $("search").focus()],
      "]": ["next page", () => this.page(1)],
      "[": ["previous page", () => this.page(-1)],
    };
  }
}

const level = (v) => (v < 0.5 ? "low" : v < 0.8 ? "mid" : "high");
