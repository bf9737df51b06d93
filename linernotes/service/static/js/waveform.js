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
    this.scheduled.clear();
    this.draw();
  }

  setPeaks(peaks, duration) {
    this.peaks = peaks;
    this.duration = duration || this.duration;
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
    const downs = new Set(this.downbeats.map((t) => t.toFixed(3)));
    for (const t of this.beats) {
      if (t < now || t > now + 0.15 || this.scheduled.has(t)) continue;
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

  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight || 150;
    if (!width) return;
    if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    const duration = this.duration || this.audio.duration || 0;
    const x = (t) => (duration ? (t / duration) * width : 0);
    const mid = height / 2 + 6;
    const played = x(this.audio.currentTime || 0);
    // peaks, one bar per pixel column (the loudest bucket in it)
    const n = this.peaks.length;
    for (let px = 0; px < width; px++) {
      let peak = 0;
      const from = Math.floor((px / width) * n);
      const to = Math.max(from + 1, Math.floor(((px + 1) / width) * n));
      for (let i = from; i < to && i < n; i++) peak = Math.max(peak, this.peaks[i]);
      const h = Math.max(1, peak * (height / 2 - 10));
      g.fillStyle = px < played ? COLORS.played : COLORS.wave;
      g.fillRect(px, mid - h, 1, 2 * h);
    }
    // beat grid
    g.fillStyle = COLORS.beat;
    for (const t of this.beats) g.fillRect(Math.round(x(t)), 12, 1, height - 12);
    g.fillStyle = COLORS.downbeat;
    g.font = "10px system-ui, sans-serif";
    this.downbeats.forEach((t, i) => {
      const px = Math.round(x(t));
      g.fillRect(px - 1, 12, 2, height - 12);
      if (this.downbeats.length < 400 || i % 10 === 0) {
        g.fillStyle = COLORS.text;
        g.fillText(String(i + 1), px + 3, 10);
        g.fillStyle = COLORS.downbeat;
      }
    });
    // playhead
    g.fillStyle = COLORS.head;
    g.fillRect(Math.round(played), 0, 2, height);
    canvas.dataset.beats = String(this.beats.length);
    canvas.dataset.downbeats = String(this.downbeats.length);
    canvas.dataset.drawn = n ? "peaks" : "grid";
  }
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
