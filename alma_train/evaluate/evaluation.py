"""`alma-train evaluate` and `alma-train compare`: translate test sets, score them, write a report.

Test data, decoding, terminology, outputs and bad input: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alma_core.atomic import write_text_atomic
from alma_core.bundle import BundleError, is_bundle, load_bundle
from alma_core.languages import parse_pair
from alma_core.parallel_files import read_records
from alma_core.prompts import OUTPUT_LENGTH_FACTOR
from alma_train.evaluate.comet import NO_COMET_NOTE, CometScorer, comet_offline_hint, resolve_checkpoint
from alma_train.evaluate.decode import DecodingSettings, load_translator
from alma_train.evaluate.metrics import bleu_tokenizer, corpus_scores
from alma_train.evaluate.report import averages, compare_markdown, group_of, load_report, report_markdown
from desktop.terminology import STRATEGIES, GlossaryError, Terms, target_present
from desktop.terminology.sources import load_terms


class EvaluationInputError(ValueError):
    """Bad evaluation input (file, option, language); the message names it."""


@dataclass
class TestSet:
    """The segments of one direction, with the files they came from."""

    src: str
    tgt: str
    sources: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def direction(self) -> str:
        return f"{self.src}-{self.tgt}"


def parse_directions(spec: str | None) -> list[tuple[str, str]] | None:
    """"de-en,en-de" -> [(de, en), (en, de)]; None when not given."""
    if not spec:
        return None
    directions = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            directions.append(parse_pair(item))
    if not directions:
        raise EvaluationInputError(f"--pairs {spec!r} names no direction")
    return directions


def _file_directions(languages: list[str]) -> list[tuple[str, str]]:
    # Each record gives both directions: xx->en and en->xx for every other language, or both ways
    # between the two languages of a file without English.
    if "en" in languages:
        others = [lang for lang in languages if lang != "en"]
        return [(x, "en") for x in others] + [("en", x) for x in others]
    if len(languages) == 2:
        a, b = languages
        return [(a, b), (b, a)]
    return []


def load_parallel_tests(paths: Sequence[str], directions: list[tuple[str, str]] | None,
                        sets: dict[str, TestSet]) -> None:
    """Add the segments of parallel files (jsonl/tsv/tmx/po) to `sets`, per direction."""
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"test file not found: {path}")
        records = list(read_records(path))
        languages: list[str] = []
        for record in records:
            for code in record.texts:
                if code not in languages:
                    languages.append(code)
        wanted = directions if directions is not None else _file_directions(languages)
        found = 0
        for src, tgt in wanted:
            pairs = [(r.texts[src], r.texts[tgt]) for r in records if r.texts.get(src) and r.texts.get(tgt)]
            if not pairs:
                continue
            test = sets.setdefault(f"{src}-{tgt}", TestSet(src, tgt))
            test.sources += [s for s, _ in pairs]
            test.references += [t for _, t in pairs]
            test.files.append(str(path))
            found += len(pairs)
        if not found and directions is None:
            # With --pairs a file may hold none of the wanted directions; a direction that no file
            # gives at all is reported by collect_tests.
            what = ", ".join(f"{s}-{t}" for s, t in wanted) or "a language pair"
            raise EvaluationInputError(f"test file {path} gives no segments for {what} "
                                       f"(languages found: {', '.join(languages) or 'none'})")


def _read_lines(path: Path, option: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{option} file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{option} {path}: not UTF-8 text (byte {exc.start})") from None
    return [line.strip() for line in text.splitlines()]


def load_plain_tests(src_files: Sequence[str], ref_files: Sequence[str], directions: Sequence[str],
                     sets: dict[str, TestSet]) -> None:
    """Add source/reference plain-text pairs (one segment per line) to `sets`."""
    if not (len(src_files) == len(ref_files) == len(directions)):
        raise EvaluationInputError(
            f"give --src-file, --ref-file and --direction together, once per test set (got {len(src_files)}, "
            f"{len(ref_files)} and {len(directions)})")
    for src_name, ref_name, direction in zip(src_files, ref_files, directions, strict=True):
        src, tgt = parse_pair(direction)
        sources = _read_lines(Path(src_name), "--src-file")
        references = _read_lines(Path(ref_name), "--ref-file")
        if len(sources) != len(references):
            raise EvaluationInputError(f"{src_name} has {len(sources)} lines but {ref_name} has "
                                       f"{len(references)}: source and reference must align line by line")
        for number, (s, r) in enumerate(zip(sources, references, strict=True), start=1):
            if not s or not r:
                side = src_name if not s else ref_name
                raise EvaluationInputError(f"{side}:{number}: empty line (every segment needs a source and "
                                           "a reference)")
        test = sets.setdefault(f"{src}-{tgt}", TestSet(src, tgt))
        test.sources += sources
        test.references += references
        test.files += [src_name, ref_name]


def collect_tests(args: argparse.Namespace) -> dict[str, TestSet]:
    """Every test set the options name, limited to --limit segments per direction, in paper order."""
    directions = parse_directions(args.pairs)
    sets: dict[str, TestSet] = {}
    if not args.test and not args.src_file:
        raise EvaluationInputError("no test data: give --test FILE... or --src-file/--ref-file/--direction")
    load_parallel_tests(args.test or [], directions, sets)
    load_plain_tests(args.src_file or [], args.ref_file or [], args.direction or [], sets)
    if directions is not None:
        missing = [f"{s}-{t}" for s, t in directions if f"{s}-{t}" not in sets]
        if missing:
            raise EvaluationInputError(f"--pairs asks for {', '.join(missing)} but no test file gives it")
    for test in sets.values():
        if args.limit and args.limit > 0:
            test.sources, test.references = test.sources[:args.limit], test.references[:args.limit]
        if not test.sources:
            raise EvaluationInputError(f"the test set for {test.direction} is empty ({', '.join(test.files)})")
    if not sets:
        raise EvaluationInputError("the test data holds no segments")
    # xx->en first, then en->xx, then anything else: the paper's column order (stable within each group).
    def group(test: TestSet) -> int:
        return 0 if test.tgt == "en" else 1 if test.src == "en" else 2

    return dict(sorted(sets.items(), key=lambda kv: group(kv[1])))


def load_direction_terms(args: argparse.Namespace, tests: dict[str, TestSet]) -> dict:
    """direction -> desktop.terminology.TermBase of the --glossary / --do-not-translate files ({} without).

    A bad file is an EvaluationInputError naming file and line (checked before any model loads)."""
    glossaries = list(getattr(args, "glossary", None) or [])
    keep_lists = list(getattr(args, "do_not_translate", None) or [])
    strategy = getattr(args, "term_strategy", None)
    if not glossaries and not keep_lists:
        if strategy:
            raise EvaluationInputError("--term-strategy needs --glossary or --do-not-translate")
        return {}
    for option, paths in (("--glossary", glossaries), ("--do-not-translate", keep_lists)):
        for name in paths:
            if not Path(name).is_file():
                raise FileNotFoundError(f"{option} file not found: {name}")
    if strategy:
        check_term_strategy(strategy)
    terms = {}
    for name, test in tests.items():
        try:
            terms[name] = load_terms(glossaries, keep_lists, test.src, test.tgt)
        except GlossaryError as exc:
            raise EvaluationInputError(f"bad glossary: {exc}") from None
        if not len(terms[name]):
            print(f"alma-train evaluate: no glossary or do-not-translate term for {name}", file=sys.stderr)
    return terms


def check_term_strategy(name: str) -> None:
    """An EvaluationInputError unless the engine knows the enforcement strategy `name`."""
    if name not in STRATEGIES:
        raise EvaluationInputError(f"--term-strategy {name!r}: unknown strategy (known: {', '.join(STRATEGIES)})")


def term_scores(terms, sources: Sequence[str], hypotheses: Sequence[str]) -> dict:
    """Term-hit and do-not-translate counts of one direction's translations.

    Each entry the TermBase finds in a source counts once per segment: a glossary entry is a hit when
    target_present(translation) holds (an inflected form of the target term counts), a do-not-translate
    term is kept when it is in the translation exactly as written. Rates are percent (None: no term)."""
    hits = total = kept = keep_total = 0
    for source, hypothesis in zip(sources, hypotheses, strict=True):
        seen = []
        for match in terms.find(source):
            if match.entry in seen:
                continue
            seen.append(match.entry)
            present = target_present(hypothesis, match.entry, terms.tgt)
            if match.entry.keep:
                keep_total += 1
                kept += present
            else:
                total += 1
                hits += present
    return {
        "term_hits": hits, "term_total": total,
        "term_hit_rate": round(100.0 * hits / total, 2) if total else None,
        "dnt_kept": kept, "dnt_total": keep_total,
        "dnt_kept_rate": round(100.0 * kept / keep_total, 2) if keep_total else None,
    }


def term_averages(directions: dict[str, dict]) -> dict[str, dict]:
    """Pooled term-hit / DNT-kept rates over xx->en, en->xx and all directions (counts summed)."""
    result = {}
    for group in ("xx-en", "en-xx", "all"):
        members = [d for d, e in directions.items() if "term_total" in e and (group == "all" or group_of(d) == group)]
        if not members:
            continue
        sums = {key: sum(directions[d][key] for d in members)
                for key in ("term_hits", "term_total", "dnt_kept", "dnt_total")}
        sums["term_hit_rate"] = round(100.0 * sums["term_hits"] / sums["term_total"], 2) if sums["term_total"] else None
        sums["dnt_kept_rate"] = round(100.0 * sums["dnt_kept"] / sums["dnt_total"], 2) if sums["dnt_total"] else None
        result[group] = {"directions": members, **sums}
    return result


def terminology_markdown(report: dict) -> str:
    """The report's terminology table ("" when the evaluation had no glossary)."""
    info = report.get("terminology")
    if not info:
        return ""

    def rate(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} %"

    lines = ["", "## Terminology", "",
             f"Strategy: {info['strategy']}" + ("" if info["enforced"] else " (not enforced: " + info["note"] + ")"),
             f"Glossaries: {', '.join(info['glossaries']) or '–'}; do-not-translate: "
             f"{', '.join(info['do_not_translate']) or '–'}", "",
             "| direction | n | BLEU | chrF | terms placed | term-hit rate | DNT kept | DNT-kept rate |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in report["directions"].items():
        if "term_total" not in entry:
            continue
        lines.append(f"| {name} | {entry['n']} | {entry['bleu']:.2f} | {entry['chrf']:.2f} | "
                     f"{entry['term_hits']}/{entry['term_total']} | {rate(entry['term_hit_rate'])} | "
                     f"{entry['dnt_kept']}/{entry['dnt_total']} | {rate(entry['dnt_kept_rate'])} |")
    for group, entry in info.get("averages", {}).items():
        lines.append(f"| {group} (pooled) | | | | {entry['term_hits']}/{entry['term_total']} | "
                     f"{rate(entry['term_hit_rate'])} | {entry['dnt_kept']}/{entry['dnt_total']} | "
                     f"{rate(entry['dnt_kept_rate'])} |")
    return "\n".join(lines) + "\n"


def evaluation_markdown(report: dict) -> str:
    return report_markdown(report) + terminology_markdown(report)


class EngineTranslator:
    """A GGUF model through the desktop engine (sentence splitting, term enforcement), one segment at a
    time, with the direction's TermBase."""

    def __init__(self, model_path: Path, max_new_tokens: int, terms: dict, strategy: str | None) -> None:
        from desktop.engine import TranslationEngine  # loads llama.cpp: only when a GGUF is evaluated

        self.engine = TranslationEngine(model_path, max_new_tokens=max_new_tokens, cache=False)
        # direction -> Terms; strategy None: the default, decided by desktop.terminology.Terms.
        self.terms = {name: Terms.of(base, strategy) for name, base in terms.items()}
        self.strategy = next(iter(self.terms.values())).strategy if self.terms else "none"
        self.description = {"kind": "bundle" if is_bundle(model_path) else "gguf", "path": str(model_path), "adapter": None, "n_ctx": self.engine.n_ctx,
                            "through": "desktop.engine.TranslationEngine (terms enforced)"}
        if is_bundle(model_path):
            bundle = load_bundle(model_path, check_files=False)  # the engine has checked the hashes
            self.description.update({"kind": "bundle", "name": bundle.name, "base": str(bundle.base_path),
                                     "base_sha256": bundle.base.sha256, "directions": {}})

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        terms = self.terms.get(f"{src}-{tgt}")
        if "directions" in self.description:
            adapter = self.engine.adapter_for(src, tgt)
            self.description["directions"][f"{src}-{tgt}"] = (
                {"adapter": str(adapter)} if adapter else
                {"adapter": None, "note": "no adapter for this direction: the base translates it alone (zero-shot)"})
        return [self.engine.translate(text, src, tgt, terms=terms) for text in texts]

    def close(self) -> None:
        self.engine.close()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("sacrebleu", "torch", "transformers", "peft", "llama-cpp-python", "unbabel-comet"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def output_paths(output: Path, direction: str) -> tuple[Path, Path]:
    """Hypotheses and references files of one direction, beside the report."""
    stem = output.with_suffix("")
    return Path(f"{stem}.{direction}.hyp.txt"), Path(f"{stem}.{direction}.ref.txt")


def check_output(output: Path, tests: dict[str, TestSet]) -> None:
    if output.suffix != ".json":
        raise EvaluationInputError(f"--output {output}: the report is JSON, name it *.json")
    if output.is_dir():
        raise EvaluationInputError(f"--output {output} is a folder; give a file name such as {output}/report.json")
    inputs = {Path(f).resolve() for test in tests.values() for f in test.files}
    written = [output, output.with_suffix(".md")]
    for direction in tests:
        written += list(output_paths(output, direction))
    for path in written:
        if path.resolve() in inputs:
            raise EvaluationInputError(f"--output would overwrite the test file {path}")


def run_evaluation(args: argparse.Namespace) -> dict:
    """Decode, score and write the report; returns the report."""
    started = time.time()
    # 1. Check everything before loading any model.
    for option, value in (("--beams", args.beams), ("--max-new-tokens", args.max_new_tokens),
                          ("--batch-size", args.batch_size)):
        if value < 1:
            raise EvaluationInputError(f"{option} must be at least 1 (got {value})")
    tests = collect_tests(args)
    for test in tests.values():
        if bleu_tokenizer(test.tgt) != "13a":
            corpus_scores(["x"], ["x"], test.tgt)  # fails now, not after decoding, if e.g. mecab is missing
    output = Path(args.output)
    check_output(output, tests)
    if args.comet_model:
        resolve_checkpoint(args.comet_model)
    terms = load_direction_terms(args, tests)
    model_path = Path(args.model).expanduser()
    adapter = Path(args.adapter).expanduser() if args.adapter else None
    bundle = None
    if is_bundle(model_path):
        try:
            bundle = load_bundle(model_path)  # format, keys, files and their sha256, before any decoding
        except BundleError as exc:
            raise EvaluationInputError(str(exc)) from None
        if adapter is not None:
            raise EvaluationInputError(f"--adapter does not apply to the bundle {model_path}: it has an adapter "
                                       "per language")
    # A bundle is a GGUF base with GGUF adapters: decoded by llama.cpp as a GGUF is.
    is_gguf = model_path.suffix.lower() == ".gguf" or bundle is not None
    length_factor = OUTPUT_LENGTH_FACTOR if getattr(args, "length_factor", None) is None else args.length_factor
    if length_factor < 0:
        raise EvaluationInputError(f"--length-factor must be 0 or more (got {length_factor})")
    settings = DecodingSettings(beams=1 if is_gguf else args.beams, max_new_tokens=args.max_new_tokens,
                                batch_size=1 if is_gguf else args.batch_size, line_stop=not args.no_line_stop,
                                length_factor=length_factor)
    if is_gguf and args.beams != 1:
        print("alma-train evaluate: a GGUF model is decoded greedily with llama.cpp (--beams ignored)",
              file=sys.stderr)
    if bundle is not None:
        for test in tests.values():
            if bundle.adapter_for(test.src, test.tgt) is None:
                print(f"alma-train evaluate: {bundle.root.name} has no adapter for {test.direction}; its base "
                      "translates it alone (zero-shot)", file=sys.stderr)

    # 2. Translate (with terms: a GGUF through the desktop engine, which enforces them).
    enforced = bool(terms) and is_gguf
    if enforced:
        if not model_path.is_file() and bundle is None:
            raise FileNotFoundError(f"model not found: {model_path}")
        if adapter is not None:
            raise EvaluationInputError(f"--adapter with --glossary: the desktop engine takes a bundle, not a GGUF "
                                       f"and a separate adapter ({adapter})")
        translator = EngineTranslator(model_path, args.max_new_tokens, terms, getattr(args, "term_strategy", None))
    else:
        translator = load_translator(model_path, settings, adapter)
        if terms:
            print("alma-train evaluate: terms are enforced by the desktop engine (GGUF models); this HF model "
                  "is scored on its own output", file=sys.stderr)
    hypotheses: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    for name, test in tests.items():
        tick = time.time()
        hypotheses[name] = translator.translate(test.sources, test.src, test.tgt)
        seconds[name] = time.time() - tick
        print(f"{name}: {len(test.sources)} segments translated in {seconds[name]:.1f} s", file=sys.stderr)
    model_description = translator.description
    if hasattr(translator, "close"):
        translator.close()
    strategy = translator.strategy if enforced else "none"
    del translator  # free its memory before COMET loads

    # 3. Score.
    comet = {"checkpoint": None, "note": NO_COMET_NOTE}
    scorer = None
    if args.comet_model:
        try:
            scorer = CometScorer(args.comet_model, batch_size=args.comet_batch_size)
        except (OSError, ValueError, KeyError) as exc:
            raise EvaluationInputError(f"--comet-model {args.comet_model}: cannot load it "
                                       f"({exc}){comet_offline_hint()}") from None
        comet = {**scorer.description, "note": "system score x 100 (paper convention)"}
    directions: dict[str, dict] = {}
    for name, test in tests.items():
        scores = corpus_scores(hypotheses[name], test.references, test.tgt)
        entry = {
            "n": len(test.sources),
            "bleu": scores.bleu,
            "chrf": scores.chrf,
            "comet": None,
            "bleu_signature": scores.bleu_signature,
            "chrf_signature": scores.chrf_signature,
            "seconds": round(seconds[name], 2),
            "data": test.files,
        }
        if name in terms:
            entry.update(term_scores(terms[name], test.sources, hypotheses[name]))
        if scorer is not None:
            tick = time.time()
            entry["comet"] = scorer.score(test.sources, hypotheses[name], test.references).system
            entry["comet_seconds"] = round(time.time() - tick, 2)
        hyp_path, ref_path = output_paths(output, name)
        entry["hypotheses"], entry["references"] = hyp_path.name, ref_path.name
        write_text_atomic(hyp_path, "".join(h + "\n" for h in hypotheses[name]))
        write_text_atomic(ref_path, "".join(r + "\n" for r in test.references))
        directions[name] = entry
        comet_text = f" COMET {entry['comet']:.2f}" if entry["comet"] is not None else ""
        term_text = ""
        if "term_total" in entry:
            term_text = (f" terms {entry['term_hits']}/{entry['term_total']}"
                         f" DNT {entry['dnt_kept']}/{entry['dnt_total']}")
        print(f"{name}: BLEU {entry['bleu']:.2f} chrF {entry['chrf']:.2f}{comet_text}{term_text}", file=sys.stderr)

    report = {
        "model": model_description,
        "decoding": {
            "search": "greedy (llama.cpp)" if is_gguf else
            ("greedy" if settings.beams == 1 else f"beam search ({settings.beams} beams)"),
            "beams": settings.beams,
            "max_new_tokens": settings.max_new_tokens,
            "length_factor": settings.length_factor,
            "batch_size": settings.batch_size,
            "do_sample": False,
            "padding_side": None if is_gguf else "left",
            "line_stop": settings.line_stop,
            "prompt": "alma_core.prompts.build_prompt; output cut with clean_output",
        },
        "comet": comet,
        "limit": args.limit or None,
        "directions": directions,
        "averages": averages(directions),
        "seconds": round(time.time() - started, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    if terms:
        report["terminology"] = {
            "glossaries": [str(p) for p in args.glossary or []],
            "do_not_translate": [str(p) for p in args.do_not_translate or []],
            "strategy": strategy,
            "enforced": enforced,
            "note": "" if enforced else "an HF model decodes without the desktop engine's term enforcement",
            "rates": "percent; a term counts once per segment",
            "averages": term_averages(directions),
        }
    write_text_atomic(output.with_suffix(".md"), evaluation_markdown(report))
    write_text_atomic(output, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


def _cmd_evaluate(args: argparse.Namespace) -> int:
    report = run_evaluation(args)
    print(evaluation_markdown(report))
    print(f"report: {args.output}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.reports]
    reports = [load_report(p) for p in paths]
    names = args.names.split(",") if args.names else [p.stem for p in paths]
    if len(names) != len(reports):
        raise EvaluationInputError(f"--names gives {len(names)} names for {len(reports)} reports")
    table = compare_markdown(reports, names)
    if args.output:
        write_text_atomic(Path(args.output), table)
    print(table)
    return 0


def add_evaluate_parsers(sub) -> None:
    """Register `evaluate` and `compare` on alma-train's subparsers."""
    parser = sub.add_parser(
        "evaluate", help="translate test sets and score them (BLEU, chrF, COMET)",
        description="Decode test sets with an HF model (beam search) or a GGUF (llama.cpp, greedy) and write "
                    "a report with BLEU, chrF and COMET per direction.")
    parser.add_argument("--model", required=True,
                        help="HF model folder (safetensors), a .gguf file or a bundle folder (X.bundle: its base "
                             "with each direction's adapter; docs/adapters.md)")
    parser.add_argument("--adapter", help="a peft LoRA adapter folder for an HF model, or a GGUF LoRA adapter file "
                                          "(alma-convert lora) for a .gguf model")
    parser.add_argument("--test", nargs="+", metavar="FILE",
                        help="parallel test files (jsonl/tsv/tmx/po); each record gives both directions")
    parser.add_argument("--src-file", action="append", help="plain-text sources, one segment per line")
    parser.add_argument("--ref-file", action="append", help="plain-text references aligned with --src-file")
    parser.add_argument("--direction", action="append", help="direction of a --src-file/--ref-file pair, e.g. de-en")
    parser.add_argument("--pairs", help="only these directions, e.g. de-en,en-de (default: all a file gives)")
    parser.add_argument("--output", required=True, help="report.json (report.md and hypotheses go beside it)")
    parser.add_argument("--beams", type=int, default=5, help="beam size (paper: 5; GGUF: always greedy)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="paper: 256")
    parser.add_argument("--length-factor", type=float, default=None,
                        help="at most this many output tokens per source token, plus 16 (default 3, as the app "
                        "decodes; 0: only --max-new-tokens, as the paper decodes)")
    parser.add_argument("--batch-size", type=int, default=8, help="sentences decoded together (HF)")
    parser.add_argument("--limit", type=int, default=0, help="first N segments per direction (0: all)")
    parser.add_argument("--no-line-stop", action="store_true",
                        help="decode until EOS or --max-new-tokens as the paper does, instead of stopping "
                             "once the first line (all the cut keeps) is complete")
    parser.add_argument("--comet-model", help="COMET checkpoint (.ckpt), its folder, or a hub name when online")
    parser.add_argument("--comet-batch-size", type=int, default=16)
    parser.add_argument("--glossary", action="append", metavar="FILE",
                        help="glossary (TSV/CSV/TBX; repeatable): report term-hit rates, and a GGUF model "
                             "translates through the desktop engine with the terms enforced")
    parser.add_argument("--do-not-translate", action="append", metavar="FILE",
                        help="do-not-translate list, one term a line (repeatable): report the DNT-kept rate")
    parser.add_argument("--term-strategy", metavar="NAME",
                        help="term enforcement of the engine (desktop.terminology.STRATEGIES: none, substitute, "
                             "constrained; default: the engine's)")
    parser.set_defaults(handler=_cmd_evaluate)

    compare = sub.add_parser("compare", help="put evaluation reports side by side, with deltas",
                             description="One table per metric: each report's scores and its delta "
                                         "against the first report.")
    compare.add_argument("reports", nargs="+", help="report JSON files written by alma-train evaluate")
    compare.add_argument("--names", help="comma-separated column names (default: the file names)")
    compare.add_argument("--output", help="also write the table to this Markdown file")
    compare.set_defaults(handler=_cmd_compare)
