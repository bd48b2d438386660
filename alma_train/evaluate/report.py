"""Evaluation reports: averages, the paper-style Markdown table, and `compare` across reports.

The report's fields: docs/evaluation.md#outputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

METRICS = ("bleu", "chrf", "comet")
METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF", "comet": "COMET"}
GROUPS = ("xx-en", "en-xx")


def group_of(direction: str) -> str | None:
    """"xx-en" for into-English directions, "en-xx" for out-of-English ones, None otherwise."""
    src, tgt = direction.split("-")
    if tgt == "en":
        return "xx-en"
    if src == "en":
        return "en-xx"
    return None


def averages(directions: dict[str, dict]) -> dict[str, dict]:
    """Mean BLEU/chrF/COMET over the xx->en and en->xx directions present (as the paper averages)."""
    result: dict[str, dict] = {}
    for group in GROUPS:
        members = [d for d in directions if group_of(d) == group]
        if not members:
            continue
        entry: dict = {"directions": members}
        for metric in METRICS:
            values = [directions[d].get(metric) for d in members]
            entry[metric] = sum(values) / len(values) if values and all(v is not None for v in values) else None
        result[group] = entry
    return result


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _rows_of(report: dict) -> list[tuple[str, dict]]:
    rows = list(report["directions"].items())
    rows += [(f"avg {g.replace('-', '→')}", v) for g, v in report.get("averages", {}).items()]
    return rows


def report_markdown(report: dict) -> str:
    """One report as Markdown: the paper's layout (languages as columns, per group) and a detail table."""
    lines = [f"# Evaluation: {Path(report['model']['path']).name}", ""]
    has_comet = any(d.get("comet") is not None for d in report["directions"].values())
    metrics = [m for m in METRICS if m != "comet" or has_comet]
    for group in GROUPS:
        members = [d for d in report["directions"] if group_of(d) == group]
        if not members:
            continue
        langs = [d.split("-")[0] if group == "xx-en" else d.split("-")[1] for d in members]
        arrow = "xx→en" if group == "xx-en" else "en→xx"
        lines.append(f"| {arrow} | " + " | ".join(langs) + " | Avg |")
        lines.append("|---" * (len(langs) + 2) + "|")
        for metric in metrics:
            cells = [_fmt(report["directions"][d].get(metric)) for d in members]
            cells.append(_fmt(report["averages"][group].get(metric)))
            lines.append(f"| {METRIC_NAMES[metric]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("| direction | n | BLEU | chrF | COMET | seconds |")
    lines.append("|---|---|---|---|---|---|")
    for name, entry in report["directions"].items():
        lines.append(f"| {name} | {entry['n']} | {_fmt(entry['bleu'])} | {_fmt(entry['chrf'])} | "
                     f"{_fmt(entry.get('comet'))} | {entry['seconds']:.1f} |")
    lines.append("")
    decoding = report["decoding"]
    lines.append(f"Model: `{report['model']['path']}` ({report['model']['kind']}"
                 + (f", adapter `{report['model']['adapter']}`" if report["model"].get("adapter") else "") + ")  ")
    if report["model"].get("kind") == "bundle":
        lines.append(f"Base: `{report['model']['base']}`  ")
        lines.append("Adapters: " + "; ".join(
            f"{d} `{e['adapter']}`" if e.get("adapter") else f"{d} none (the base alone, zero-shot)"
            for d, e in report["model"].get("directions", {}).items()) + "  ")
    lines.append(f"Decoding: {decoding['search']}, {decoding['beams']} beam(s), max {decoding['max_new_tokens']} new "
                 f"tokens, batch {decoding['batch_size']}, stop at end of first line: {decoding['line_stop']}  ")
    signatures = sorted({e["bleu_signature"] for e in report["directions"].values()})
    lines.append("BLEU: " + "; ".join(f"`{s}`" for s in signatures) + "  ")
    chrf = sorted({e["chrf_signature"] for e in report["directions"].values()})
    lines.append("chrF: " + "; ".join(f"`{s}`" for s in chrf) + "  ")
    lines.append(f"COMET: {report['comet']['checkpoint'] if report['comet'].get('checkpoint') else report['comet']['note']}")
    lines.append("")
    return "\n".join(lines)


def load_report(path: Path) -> dict:
    """A report written by `alma-train evaluate`; ValueError naming the file when it is not one."""
    if not path.is_file():
        raise FileNotFoundError(f"report not found: {path}")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON report ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(report, dict) or not isinstance(report.get("directions"), dict):
        raise ValueError(f"{path}: not an alma-train evaluate report (no 'directions')")
    return report


def compare_markdown(reports: Sequence[dict], names: Sequence[str]) -> str:
    """Reports side by side, one table per metric, with each report's delta against the first."""
    if len(reports) < 2:
        raise ValueError("compare needs at least two reports")
    row_names: list[str] = []
    for report in reports:
        for row, _ in _rows_of(report):
            if row not in row_names:
                row_names.append(row)
    directions = [r for r in row_names if not r.startswith("avg ")]
    row_names = directions + [r for r in row_names if r.startswith("avg ")]
    tables = [dict(_rows_of(report)) for report in reports]
    lines: list[str] = []
    for metric in METRICS:
        if not any(entry.get(metric) is not None for table in tables for entry in table.values()):
            continue
        header = [names[0]]
        for name in names[1:]:
            header += [name, "Δ"]
        lines.append(f"## {METRIC_NAMES[metric]}")
        lines.append("")
        lines.append("| direction | " + " | ".join(header) + " |")
        lines.append("|---" * (len(header) + 1) + "|")
        for row in row_names:
            base = tables[0].get(row, {}).get(metric)
            cells = [_fmt(base)]
            for table in tables[1:]:
                value = table.get(row, {}).get(metric)
                cells.append(_fmt(value))
                cells.append("–" if value is None or base is None else f"{value - base:+.2f}")
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Reports: " + ", ".join(f"{n} = `{r['model']['path']}` ({r['decoding']['search']})"
                                         for n, r in zip(names, reports, strict=True)))
    lines.append("")
    return "\n".join(lines)
