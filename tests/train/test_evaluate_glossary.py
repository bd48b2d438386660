"""alma-train evaluate --glossary / --do-not-translate: term-hit and DNT-kept rates next to BLEU/chrF.

Cheap on purpose: four hand-written segments through the fast test GGUF (SmolLM2-135M), and the
counting checked against desktop.terminology run directly on the hypotheses the command wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_train.cli import main
from alma_train.evaluate.evaluation import term_scores
from desktop.terminology import TermBase, TermEntry, target_present

SEGMENTS = [
    {"de": "Der Kunde öffnet Thonny.", "en": "The client opens Thonny."},
    {"de": "Alle Kunden sehen die Rechnung.", "en": "All clients see the invoice."},
    {"de": "Python ist installiert.", "en": "Python is installed."},
    {"de": "Das Wetter ist schön.", "en": "The weather is nice."},
]


@pytest.fixture()
def term_files(tmp_path: Path) -> dict[str, Path]:
    test = tmp_path / "terms.jsonl"
    test.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in SEGMENTS), encoding="utf-8")
    glossary = tmp_path / "glossary.tsv"
    glossary.write_text("de\ten\nKunde\tclient\nRechnung\tinvoice\n", encoding="utf-8")
    dnt = tmp_path / "names.txt"
    dnt.write_text("# product names\nThonny\nPython\n", encoding="utf-8")
    return {"test": test, "glossary": glossary, "dnt": dnt}


def test_term_scores_count_each_entry_once_per_segment():
    kunde = TermEntry("Kunde", "client")
    thonny = TermEntry("Thonny", "Thonny", keep=True)
    terms = TermBase([kunde, thonny], "de", "en")
    sources = ["Der Kunde und die Kunden nutzen Thonny.", "Kunden ohne Thonny.", "Nichts davon."]
    hypotheses = ["The clients use Thonny.", "Customers without thonny.", "None of it."]
    scores = term_scores(terms, sources, hypotheses)
    # "client" is in the first output (as "clients": inflected forms count), not in the second;
    # "thonny" in lower case is not the name kept.
    assert scores == {"term_hits": 1, "term_total": 2, "term_hit_rate": 50.0,
                      "dnt_kept": 1, "dnt_total": 2, "dnt_kept_rate": 50.0}
    assert term_scores(terms, ["Nichts."], ["Nothing."])["term_hit_rate"] is None


def test_evaluate_gguf_with_glossary_reports_term_rates(default_gguf, term_files, tmp_path):
    out = tmp_path / "report.json"
    code = main(["evaluate", "--model", str(default_gguf), "--test", str(term_files["test"]), "--pairs", "de-en",
                 "--glossary", str(term_files["glossary"]), "--do-not-translate", str(term_files["dnt"]),
                 "--term-strategy", "substitute", "--max-new-tokens", "8", "--output", str(out)])
    assert code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    entry = report["directions"]["de-en"]
    hyps = (out.parent / entry["hypotheses"]).read_text(encoding="utf-8").split("\n")[:-1]
    assert len(hyps) == len(SEGMENTS)
    # The counts are those of desktop.terminology on the written hypotheses.
    terms = TermBase([TermEntry("Kunde", "client"), TermEntry("Rechnung", "invoice"),
                      TermEntry("Thonny", "Thonny", keep=True), TermEntry("Python", "Python", keep=True)], "de", "en")
    hits = sum(target_present(h, e, "en") for s, h in zip([s["de"] for s in SEGMENTS], hyps, strict=True)
               for e in {m.entry for m in terms.find(s)} if not e.keep)
    kept = sum(target_present(h, e, "en") for s, h in zip([s["de"] for s in SEGMENTS], hyps, strict=True)
               for e in {m.entry for m in terms.find(s)} if e.keep)
    assert (entry["term_total"], entry["dnt_total"]) == (3, 2)  # Kunde, Kunden+Rechnung; Thonny, Python
    assert (entry["term_hits"], entry["dnt_kept"]) == (hits, kept)
    assert entry["term_hit_rate"] == pytest.approx(100.0 * hits / 3, abs=0.01)
    assert entry["dnt_kept_rate"] == pytest.approx(100.0 * kept / 2, abs=0.01)
    assert "bleu" in entry and "chrf" in entry
    info = report["terminology"]
    assert info["enforced"] is True and info["strategy"] == "substitute"
    assert info["glossaries"] == [str(term_files["glossary"])]
    assert info["averages"]["xx-en"]["term_total"] == 3
    markdown = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "## Terminology" in markdown and f"| de-en | {len(SEGMENTS)} |" in markdown
    assert f"{hits}/3" in markdown


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_evaluate_bad_glossary_exits_2_naming_file_and_line(default_gguf, term_files, tmp_path, capsys):
    out = tmp_path / "r.json"
    base = ["evaluate", "--model", str(default_gguf), "--test", str(term_files["test"]), "--pairs", "de-en",
            "--output", str(out)]
    bad = tmp_path / "bad.tsv"
    bad.write_text("de\ten\nKunde\tclient\nnur eine Spalte\n", encoding="utf-8")
    err = _error(capsys, [*base, "--glossary", str(bad)])
    assert "bad.tsv:3" in err
    err = _error(capsys, [*base, "--glossary", str(tmp_path / "missing.tsv")])
    assert "missing.tsv" in err
    other = tmp_path / "fr.tsv"
    other.write_text("fr\tes\nclient\tcliente\n", encoding="utf-8")
    assert "fr.tsv" in _error(capsys, [*base, "--glossary", str(other)])
    assert "--term-strategy" in _error(capsys, [*base, "--term-strategy", "substitute"])
    err = _error(capsys, [*base, "--glossary", str(term_files["glossary"]), "--term-strategy", "telepathy"])
    assert "telepathy" in err
    assert not out.exists()
