"""bench/accuracy's tables: per-family metrics per subset, speed, tempo and key relations,
confidence calibration, where linernotes trails, the targets, and linernotes' misses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from accuracy_scores import CAPS, METRICS, SUBSETS, TEMPO_RELATIONS
from accuracy_set import ClipDef


@dataclass
class ToolRun:
    """Everything one tool produced in this run."""

    tool: str
    error: str | None = None
    per_clip: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> result line
    failures: dict[str, str] = field(default_factory=dict)
    import_s: float = 0.0
    warmup_s: float = 0.0
    cached: int = 0
    fresh: int = 0


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _fmt(v: float | None, best: bool, width: int) -> str:
    s = "—" if v is None else f"{v:.1f}" + ("*" if best else " ")
    return s.rjust(width) if v is not None else (s + " ").rjust(width)


def compute_table(clips: list[ClipDef], truths: dict[str, dict[str, Any]],
                  scores: dict[str, dict[str, dict[str, Any]]], tools: list[str]
                  ) -> dict[str, dict[str, dict[str, Any]]]:
    """{subset slug: {"n": n, metric: {tool: mean or None}}} over the subsets with clips."""
    table: dict[str, dict[str, Any]] = {}
    for sub in SUBSETS:
        members = [c for c in clips if sub.test(c, truths[c.name])]
        if not members:
            continue
        row: dict[str, Any] = {"n": len(members), "label": sub.label}
        for m in METRICS:
            row[m.key] = {}
            for tool in tools:
                if m.cap not in CAPS[tool] or tool not in scores:
                    row[m.key][tool] = None
                    continue
                vals = [scores[tool][c.name][m.key] for c in members if c.name in scores[tool]]
                row[m.key][tool] = _mean(vals)
        table[sub.slug] = row
    return table


def format_family(family: str, table: dict[str, dict[str, Any]], tools: list[str]) -> list[str]:
    """One text table: subsets down, (metric, tool) across, the best value per row starred."""
    metrics = [m for m in METRICS if m.family == family]
    ftools = [t for t in tools if any(m.cap in CAPS[t] for m in metrics)]
    w, lw = max(9, *(len(t) + 1 for t in ftools)), 24
    head1 = " " * (lw + 5)
    head2 = f"{'subset':{lw}s} {'n':>4s}"
    pads = {m.key: max(0, len(m.label) - w * len(ftools)) for m in metrics}
    for m in metrics:
        span = w * len(ftools) + pads[m.key]
        head1 += " | " + m.label.ljust(span)
        head2 += " | " + " " * pads[m.key] + "".join(t.rjust(w) for t in ftools)
    lines = [head1.rstrip(), head2, "-" * len(head2)]
    for row in table.values():
        line = f"{row['label']:{lw}s} {row['n']:4d}"
        for m in metrics:
            vals = {t: row[m.key].get(t) for t in ftools}
            present = [round(v, 1) for v in vals.values() if v is not None]
            top = max(present) if len(present) > 1 else None
            line += " | " + " " * pads[m.key] + "".join(
                _fmt(vals[t], top is not None and vals[t] is not None and round(vals[t], 1) == top,
                     w) for t in ftools)
        lines.append(line)
    return lines


def format_speed(runs: dict[str, ToolRun], clips: list[ClipDef]) -> list[str]:
    """x real time per core per tool, over all clips, the clean ones and the degraded ones."""
    dur = {c.name: c.duration_s for c in clips}
    clean = {c.name for c in clips if c.clean}
    head = (f"{'tool':11s} {'clips':>5s} {'audio min':>9s} {'CPU s':>8s} {'xRT/core':>9s} "
            f"{'clean':>7s} {'degr.':>7s} {'import s':>8s} {'warm-up s':>9s} {'failed':>6s}  "
            "estimates")
    lines = [head, "-" * len(head)]
    for tool, run in runs.items():
        if run.error:
            lines.append(f"{tool:11s} unavailable: {run.error}")
            continue
        cpu_of = {n: r["cpu_s"] for n, r in run.per_clip.items() if "cpu_s" in r and n in dur}
        ok = list(cpu_of)

        def xrt(names: list[str], cpu_of: dict[str, float] = cpu_of) -> str:
            cpu = sum(cpu_of[n] for n in names)
            return f"{sum(dur[n] for n in names) / cpu:.1f}" if cpu > 0 else "—"

        audio = sum(dur[n] for n in ok)
        cpu = sum(cpu_of.values())
        src = "fresh" if not run.cached else (
            "cached" if not run.fresh else f"{run.fresh} fresh, {run.cached} cached")
        x_clean = xrt([n for n in ok if n in clean])
        x_deg = xrt([n for n in ok if n not in clean])
        lines.append(
            f"{tool:11s} {len(ok):5d} {audio / 60:9.1f} {cpu:8.1f} {xrt(ok):>9s} "
            f"{x_clean:>7s} {x_deg:>7s} "
            f"{_num(run.import_s if run.fresh else None, 2):>8s} "
            f"{_num(run.warmup_s if run.fresh else None, 2):>9s} {len(run.failures):6d}  {src}"
        )
    return lines


def format_relations(kind: str, clips: list[ClipDef], scores: dict[str, dict[str, Any]],
                     tools: list[str]) -> list[str]:
    """Share of clean clips per tempo or key relation to the truth (what the errors are)."""
    cap, field_name, names = (
        ("tempo", "tempo_relation", [n for n, _ in TEMPO_RELATIONS] + ["other", "none"])
        if kind == "tempo" else
        ("key", "key_relation", ["exact", "fifth above", "fifth below", "relative",
                                 "parallel", "other", "none"])
    )
    ftools = [t for t in tools if cap in CAPS[t] and t in scores]
    clean = [c.name for c in clips if c.clean]
    w = max(9, *(len(t) + 1 for t in ftools)) if ftools else 9
    lines = [f"{'estimate is':14s}" + "".join(t.rjust(w) for t in ftools)]
    lines.append("-" * len(lines[0]))
    for name in names:
        vals = []
        for t in ftools:
            got = [scores[t][n].get(field_name) for n in clean if n in scores[t]]
            vals.append(100.0 * sum(g == name for g in got) / len(got) if got else 0.0)
        if any(v > 0 for v in vals):
            lines.append(f"{name:14s}" + "".join(f"{v:.1f}".rjust(w) for v in vals))
    return lines


#: Confidence bins of the calibration tables: fine enough to show whether a confidence near
#: 0.6 is right about 60 % of the time (the meter and key confidences are probabilities).
CONF_BINS = ((0.0, 0.3, "< 0.3"), (0.3, 0.5, "0.3-0.5"), (0.5, 0.7, "0.5-0.7"),
             (0.7, 0.85, "0.7-0.85"), (0.85, 0.95, "0.85-0.95"), (0.95, 1.01, ">= 0.95"))


def _auroc(conf: list[float], correct: list[bool]) -> float | None:
    """Probability that a right answer has higher confidence than a wrong one (ties 1/2)."""
    pos = [c for c, ok in zip(conf, correct, strict=True) if ok]
    neg = [c for c, ok in zip(conf, correct, strict=True) if not ok]
    if not pos or not neg:
        return None
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def format_calibration(clips: list[ClipDef], run: ToolRun, scores: dict[str, dict[str, Any]]
                       ) -> list[str]:
    """linernotes' confidences against being right, over every clip (clean and degraded)."""
    lines = []
    specs = (
        ("bpm_confidence", "tempo", (("acc1", "Acc1"), ("acc2", "Acc2"))),
        ("key_confidence", "key", (("key_exact", "exact"), ("key_mirex", "MIREX"))),
        ("meter_confidence", "meter", (("numerator", "numerator"), ("compound", "simple/cmp"))),
    )
    for conf_field, what, metrics in specs:
        rows = []
        for c in clips:
            r = run.per_clip.get(c.name, {})
            est = r.get("estimate") or {}
            conf = est.get(conf_field)
            if conf is None or c.name not in scores:
                continue
            rows.append((float(conf), scores[c.name]))
        if not rows:
            continue
        head = f"{what + ' confidence':22s} {'clips':>6s} {'share':>6s}" + "".join(
            f"{label:>11s}" for _, label in metrics)
        lines += [head, "-" * len(head)]
        for lo, hi, label in CONF_BINS:
            sel = [s for c, s in rows if lo <= c < hi]
            line = f"{label:22s} {len(sel):6d} {100.0 * len(sel) / len(rows):5.1f}%"
            for key, _ in metrics:
                v = _mean([s[key] for s in sel])
                line += f"{'—' if v is None else f'{v:.1f}':>11s}"
            lines.append(line)
        primary = metrics[0][0]
        right = [s[primary] >= 100.0 for _, s in rows]
        conf = [c for c, _ in rows]
        au = _auroc(conf, right)
        mean_ok = _mean([c for c, ok in zip(conf, right, strict=True) if ok])
        mean_bad = _mean([c for c, ok in zip(conf, right, strict=True) if not ok])
        lines.append(
            f"mean confidence when {metrics[0][1]} right {_nz(mean_ok)}, wrong {_nz(mean_bad)} "
            f"({sum(not x for x in right)} wrong); AUROC {_nz(au)} (1 = confidence ranks every "
            "right answer above every wrong one, 0.5 = uninformative)"
        )
        lines.append("")
    return lines


def _nz(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def trailing(table: dict[str, dict[str, Any]], tools: list[str]) -> list[tuple[float, str]]:
    """Rows where linernotes is below the best other tool: (gap, text), largest gap first."""
    out = []
    for row in table.values():
        for m in METRICS:
            ln = row[m.key].get("linernotes")
            others = {t: v for t, v in row[m.key].items() if t != "linernotes" and v is not None}
            if ln is None or not others:
                continue
            best_tool = max(others, key=lambda t: others[t])
            gap = others[best_tool] - ln
            if gap > 0.05:
                out.append((gap, f"{m.family + ' ' + m.label:38s} {row['label'].strip():22s} "
                                 f"n={row['n']:<4d} linernotes {ln:5.1f}  {best_tool} "
                                 f"{others[best_tool]:5.1f}  (-{gap:.1f})"))
    return sorted(out, key=lambda x: -x[0])


def target_lines(table: dict[str, dict[str, Any]], runs: dict[str, ToolRun],
                 clips: list[ClipDef], scores: dict[str, dict[str, dict[str, Any]]],
                 truths: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's targets, each with its measured value and verdict."""
    if "overall" not in table or "linernotes" not in scores:
        return []
    o = table["overall"]

    def ln(slug: str, key: str) -> float | None:
        return table.get(slug, {}).get(key, {}).get("linernotes")

    def check(ok: bool | None) -> str:
        return "—" if ok is None else ("meets" if ok else "MISSES")

    lines = []
    ahead = []
    for m in METRICS:
        v = o[m.key].get("linernotes")
        others = [x for t, x in o[m.key].items() if t != "linernotes" and x is not None]
        if v is not None and others:
            ahead.append(v >= max(others))
    lines.append(f"{check(all(ahead) if ahead else None):7s} ahead of the best other tool on "
                 f"every metric overall ({sum(ahead)}/{len(ahead)} metrics)")
    within = [g for g, _ in trailing(table, list(runs)) if g > 2.0]
    lines.append(f"{check(not within):7s} within 2 points of the best other tool on every subset "
                 f"({len(within)} metric x subset cells trail by more)")
    for label, slug, key, goal in (
        ("tempo Acc1 >= 90 %", "overall", "acc1", 90.0),
        ("tempo Acc2 >= 98 %", "overall", "acc2", 98.0),
        ("key MIREX weighted >= 0.85", "overall", "key_mirex", 85.0),
        ("meter numerator >= 90 %", "overall", "numerator", 90.0),
        ("downbeat F >= 0.8 on clips with drums", "drums", "downbeat_f", 80.0),
    ):
        v = ln(slug, key)
        lines.append(f"{check(None if v is None else v >= goal):7s} {label}: "
                     f"{'—' if v is None else f'{v:.1f}'}")
    comp = [c for c in clips if c.clean and truths[c.name]["compound"]
            and c.name in scores["linernotes"]]
    if comp:
        as_simple = [c for c in comp if scores["linernotes"][c.name].get("est_numerator")
                     in (2, 3)]
        lines.append(f"{check(not as_simple):7s} compound clips not reported as 2/x or 3/x: "
                     f"{len(as_simple)}/{len(comp)} were")
    run = runs.get("linernotes")
    if run and not run.error:
        dur = {c.name: c.duration_s for c in clips}
        ok = [n for n, r in run.per_clip.items() if "cpu_s" in r and n in dur]
        cpu = sum(run.per_clip[n]["cpu_s"] for n in ok)
        if cpu > 0:
            x = sum(dur[n] for n in ok) / cpu
            lines.append(f"{check(x >= 50):7s} >= 50x real time per core: {x:.1f}x")
    return lines


def misses(clips: list[ClipDef], truths: dict[str, dict[str, Any]], run: ToolRun,
           scores: dict[str, dict[str, Any]]) -> list[str]:
    """linernotes' clips with a wrong tempo (Acc2), meter, key or a beat F below 50."""
    lines = []
    for c in clips:
        s, t = scores.get(c.name), truths[c.name]
        if s is None:
            continue
        est = run.per_clip.get(c.name, {}).get("estimate") or {}
        bad = []
        if s.get("acc1", 100) < 100:
            bad.append(f"bpm {_num(est.get('bpm'))} vs {t['bpm']:.1f} ({s['tempo_relation']}, "
                       f"conf {_num(est.get('bpm_confidence'), 2)})")
        if s.get("numerator", 100) < 100 or s.get("compound", 100) < 100:
            bad.append(f"meter {est.get('time_signature')} vs {t['time_signature']}")
        if s.get("key_exact", 100) < 100:
            bad.append(f"key {est.get('key')} vs {t['key']} ({s['key_relation']}, conf "
                       f"{_num(est.get('key_confidence'), 2)})")
        if s.get("beat_f", 100) < 50:
            bad.append(f"beat F {s['beat_f']:.0f}")
        if s.get("downbeat_f", 100) < 50 and c.drums:
            bad.append(f"downbeat F {s['downbeat_f']:.0f}")
        if bad:
            lines.append(f"{c.name}: " + "; ".join(bad))
    return lines


def _num(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{float(v):.{digits}f}"


def recorded_figures(table: dict[str, dict[str, Any]]) -> dict[str, float]:
    """linernotes' overall figures, by the names bench/results/recorded.json uses."""
    names = {"acc1": "tempo_acc1", "acc2": "tempo_acc2", "numerator": "meter_numerator",
             "compound": "meter_compound", "bpb": "beats_per_bar"}  # fmt: skip
    overall = {m.key: table["overall"][m.key].get("linernotes") for m in METRICS}
    return {names.get(k, k): v for k, v in overall.items() if v is not None}
