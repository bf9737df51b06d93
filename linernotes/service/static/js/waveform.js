// The waveform: peaks computed by the server, drawn on a canvas, with the beat grid
// (downbeats stronger, bar numbers), the played part, the playhead, click-to-seek, and an
// optional WebAudio click on every beat so a grid that is off can be heard.

const COLORS = { wave: "#9aa8bd", played: "#3b6fd8", beat: "rgba(30,40,60,0.28)",
  downbeat: "#e0660f", head: "#111", text: "#7a4a1a" };

export class Waveform {
  constructor(canvas, audio) {
    this.canvas = canvas;
    this.audio = audio;
    this.peaks = [];
    this.duration = 0;
    this.beats = [];
    this.downbeats = [];
    this.downbeatKeys = new Set();
    this.layers = null;
    this.clickOn = false;
    this.ctx = null;
    this.scheduled = new Set();
    this.raf = 0;
    canvas.addEventListener("click", (ev) => {
      const rect = canvas.getBoundingClientRect();
      if (this.duration) this.seek(((ev.clientX - rect.left) / rect.width) * this.duration);
    });
    audio.addEventListener("play", () => this.loop());
    audio.addEventListener("seeked", () => { this.scheduled.clear(); this.draw(); });
    audio.addEventListener("pause", () => this.draw());
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setGrid(beats, downbeats) {
    this.beats = beats;
    this.downbeats = downbeats;
    this.downbeatKeys = new Set(downbeats.map((t) => t.toFixed(3)));
    this.scheduled.clear();
    this.invalidate();
    this.draw();
  }

  setPeaks(peaks, duration) {
    this.peaks = peaks;
    this.duration = duration || this.duration;
    this.invalidate();
    this.draw();
  }

  seek(seconds) {
    const end = this.duration || this.audio.duration || 0;
    this.audio.currentTime = Math.max(0, Math.min(seconds, end));
    this.draw();
  }

  loop() {
    cancelAnimationFrame(this.raf);
    const step = () => {
      this.draw();
      if (this.clickOn) this.scheduleClicks();
      if (!this.audio.paused) this.raf = requestAnimationFrame(step);
    };
    this.raf = requestAnimationFrame(step);
  }

  // Clicks for the beats of the next 150 ms, scheduled on the audio clock.
  scheduleClicks() {
    if (!this.ctx) this.ctx = new AudioContext();
    if (this.ctx.state === "suspended") this.ctx.resume();
    const now = this.audio.currentTime;
    const rate = this.audio.playbackRate || 1;
    const downs = this.downbeatKeys;
    for (let i = firstAtOrAfter(this.beats, now); i < this.beats.length; i++) {
      const t = this.beats[i];
      if (t > now + 0.15) break;
      if (this.scheduled.has(t)) continue;
      this.scheduled.add(t);
      const at = this.ctx.currentTime + (t - now) / rate;
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.frequency.value = downs.has(t.toFixed(3)) ? 1760 : 1100;
      gain.gain.setValueAtTime(0.5, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.05);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(at);
      osc.stop(at + 0.06);
    }
  }

  // The still parts (the waveform in both colours, the grid and bar numbers) are drawn once
  // into layers, again only when the peaks, the grid or the size change; a frame is then four
  // image copies and the playhead. Drawing all of a 60-minute track's 7,000 beats every frame
  // kept the page's one thread busy, which delayed the start of playback after a seek.
  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight || 150;
    if (!width) return;
    const pw = Math.round(width * dpr), ph = Math.round(height * dpr);
    if (canvas.width !== pw) canvas.width = pw;
    if (canvas.height !== ph) canvas.height = ph;
    const duration = this.duration || this.audio.duration || 0;
    const key = `${pw}x${ph}:${dpr}:${duration}`;
    if (!this.layers || this.layers.key !== key) this.layers = this.paintLayers(key, width, height, dpr, duration);
    const { wave, played, grid } = this.layers;
    const g = canvas.getContext("2d");
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, pw, ph);
    g.drawImage(wave, 0, 0);
    const head = duration ? ((this.audio.currentTime || 0) / duration) * pw : 0;
    const upTo = Math.min(pw, Math.max(0, Math.round(head)));
    if (upTo > 0) g.drawImage(played, 0, 0, upTo, ph, 0, 0, upTo, ph);
    g.drawImage(grid, 0, 0);
    g.fillStyle = COLORS.head;
    g.fillRect(Math.round(head), 0, Math.round(2 * dpr), ph);
    canvas.dataset.beats = String(this.beats.length);
    canvas.dataset.downbeats = String(this.downbeats.length);
    canvas.dataset.drawn = this.peaks.length ? "peaks" : "grid";
  }

  // forget the layers (new peaks or grid): the next frame paints them again
  invalidate() { this.layers = null; }

  paintLayers(key, width, height, dpr, duration) {
    const layer = () => {
      const c = document.createElement("canvas");
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
      const g = c.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      return [c, g];
    };
    const [wave, gw] = layer(), [played, gp] = layer(), [grid, gg] = layer();
    const x = (t) => (duration ? (t / duration) * width : 0);
    const mid = height / 2 + 6;
    // peaks, one bar per pixel column (the loudest bucket in it)
    const n = this.peaks.length;
    gw.fillStyle = COLORS.wave;
    gp.fillStyle = COLORS.played;
    for (let px = 0; px < width; px++) {
      let peak = 0;
      const from = Math.floor((px / width) * n);
      const to = Math.max(from + 1, Math.floor(((px + 1) / width) * n));
      for (let i = from; i < to && i < n; i++) peak = Math.max(peak, this.peaks[i]);
      const h = Math.max(1, peak * (height / 2 - 10));
      gw.fillRect(px, mid - h, 1, 2 * h);
      gp.fillRect(px, mid - h, 1, 2 * h);
    }
    // the grid: beats while they are at least 3 px apart, bar numbers 30 px apart
    const span = (list) => (list.length > 1 && duration ? width / list.length : width);
    if (span(this.beats) >= 3) {
      gg.fillStyle = COLORS.beat;
      for (const t of this.beats) gg.fillRect(Math.round(x(t)), 12, 1, height - 12);
    }
    const barStep = Math.max(1, Math.ceil(3 / span(this.downbeats)));
    const labelStep = Math.max(1, Math.ceil(30 / span(this.downbeats)));
    gg.font = "10px system-ui, sans-serif";
    this.downbeats.forEach((t, i) => {
      if (i % barStep) return;
      const px = Math.round(x(t));
      gg.fillStyle = COLORS.downbeat;
      gg.fillRect(px - 1, 12, 2, height - 12);
      if (i % labelStep === 0) {
        gg.fillStyle = COLORS.text;
        gg.fillText(String(i + 1), px + 3, 10);
      }
    });
    return { key, wave, played, grid };
  }
}

// the index of the first of the sorted ``times`` at or after ``t`` (binary search)
function firstAtOrAfter(times, t) {
  let lo = 0, hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// The grid at an edited tempo: the measured beats with one added between each pair (x2),
// or every second beat (x1/2); the measured grid otherwise.
export function gridFor(beats, downbeats, measuredBpm, bpm) {
  const ratio = measuredBpm && bpm ? bpm / measuredBpm : 1;
  if (Math.abs(ratio - 2) < 0.04 && beats.length > 1) {
    const out = [];
    beats.forEach((t, i) => { out.push(t); if (i + 1 < beats.length) out.push((t + beats[i + 1]) / 2); });
    return { beats: out, downbeats, note: "grid shown at the edited tempo (measured beats ×2)" };
  }
  if (Math.abs(ratio - 0.5) < 0.02 && beats.length > 1) {
    const downs = new Set(downbeats.map((t) => t.toFixed(3)));
    const start = beats.findIndex((t) => downs.has(t.toFixed(3)));
    const phase = start < 0 ? 0 : start % 2;
    return { beats: beats.filter((_, i) => i % 2 === phase), downbeats,
      note: "grid shown at the edited tempo (every second measured beat)" };
  }
  return { beats, downbeats, note: "" };
}
