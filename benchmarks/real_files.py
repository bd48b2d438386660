"""Real files through the real command line: the corpus of other projects' test files (issue 26).

Every file listed in tests/data/corpus/MANIFEST.toml (CAT-tool XLIFF and SDLXLIFF, subtitles, office files,
gettext catalogues, READMEs, HTML, text in odd encodings; each with its origin and licence) is copied into a
fresh folder and translated by `python -m desktop.cli --from SRC --to TGT FILE -o OUT`, one process per file,
with the languages the manifest gives. Each outcome is one of:

- translated: exit 0, the output exists, the source is unchanged, nothing else was written, and the
  structure check passed (below);
- refused: exit 2 with a one-line `alma-translate: error: ...` message (printed);
- crashed: a traceback, another exit code, or no answer within --timeout;
- lost structure: exit 0 but the structure check failed (what failed is printed), or an output without
  the source's bytes outside the text, or a partial/temporary file left behind.

Structure checks, with each format's reference library: XLIFF parsed by lxml and validated against the
OASIS schemas (tests/data/corpus/schemas: 1.2 strict or transitional, whichever the source passes; 2.0
core), plus the same unit ids, unchanged sources, a target for every unit that lacked one, and the same
inline elements (segment markers included) in each new target as in its source; .po/.pot read by polib
(translate-toolkit's reader where polib refuses the source): the same entries, placeholders kept, the
declared charset able to decode the file; .docx/.pptx/.xlsx by python-docx/python-pptx/openpyxl and .odt
by lxml on its zip members: the same paragraphs, hyperlinks (none emptied), fields, tables (shapes), text
boxes, notes, comments and run formats per paragraph, zip members and, for .xlsx, table column names that
follow their header cells; .srt/.vtt: the same cues, timings and cue markup, and lines per cue (fewer only where
the translation has fewer words than the cue had lines); .md: the same
block structure, code, link targets and HTML (markdown-it); .html: the same elements and attributes, scripts and
styles, read (both files) in the charset the page's <meta> declares, by the WHATWG labels;
.txt: the same lines and tabs (a wrapped paragraph may be wrapped again). Text formats also keep their bytes outside the text: encoding and BOM,
line endings, the final newline, the XML declaration.

    nice -n 19 .venv/bin/python benchmarks/real_files.py [--model PATH|default] [--only PATTERN]
        [--batch 16] [--timeout 900] [--json results.json] [--keep DIR]

Results, machine and date: docs/translate.md, "Real files".
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import json
import os
import platform
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
MANIFEST = CORPUS / "MANIFEST.toml"
SCHEMAS = CORPUS / "schemas"
OUTCOMES = ("translated", "refused", "crashed", "lost structure")
NOTE = "note: "  # a check's remark that is not a problem (what could not be checked)


@dataclass(frozen=True)
class Entry:
    """One corpus file as the manifest describes it."""

    path: str
    cls: str
    repository: str
    source_path: str
    commit: str
    licence: str
    sha256: str
    size: int
    source_language: str
    target_language: str
    languages: tuple[str, ...]
    exercises: str
    expect: str = "translated"

    @property
    def file(self) -> Path:
        return CORPUS / self.path

    @property
    def name(self) -> str:
        return Path(self.path).name


def load_manifest(manifest: Path = MANIFEST) -> list[Entry]:
    with manifest.open("rb") as handle:
        data = tomllib.load(handle)
    entries = []
    for item in data["file"]:
        entries.append(Entry(
            path=item["path"], cls=item["class"], repository=item["repository"], source_path=item["source_path"],
            commit=item["commit"], licence=item["licence"], sha256=item["sha256"], size=item["size"],
            source_language=item["source_language"], target_language=item["target_language"],
            languages=tuple(item["languages"]), exercises=item["exercises"], expect=item.get("expect", "translated"),
        ))
    return entries


def fast_model() -> Path:
    """The fast test model (SmolLM2-135M, the tests' default_gguf)."""
    from alma_core.models import get_base

    return get_base("smollm2-135m").gguf_path()


# -- running the CLI -----------------------------------------------------------------------------------


@dataclass
class Run:
    """One file through the command line, and what the checks found."""

    path: str
    cls: str
    outcome: str = ""
    returncode: int | None = None
    seconds: float = 0.0
    message: str = ""  # a refusal's one line, or a crash's last line
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source_unchanged: bool = True
    leftovers: list[str] = field(default_factory=list)
    stderr: str = ""


# Formats whose translation is written in another format: a PDF comes back as a Word document.
OUTPUT_SUFFIXES = {".pdf": ".docx"}


def output_name(entry: Entry) -> str:
    """name.<tgt>.ext for the file (the suffix decides the format; a .pdf's translation is a .docx)."""
    path = Path(entry.name)
    return f"{path.stem}.{entry.target_language}{OUTPUT_SUFFIXES.get(path.suffix.lower(), path.suffix)}"


def run_file(entry: Entry, workdir: Path, model: Path | None, batch: int = 16, timeout: float = 900,
             extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Run:
    """Copy the file into workdir/src, translate it into workdir/out with the CLI, check and classify."""
    src_dir, out_dir = workdir / "src", workdir / "out"
    src_dir.mkdir(parents=True)
    out_dir.mkdir()
    source = src_dir / entry.name
    shutil.copyfile(entry.file, source)
    output = out_dir / output_name(entry)
    command = [sys.executable, "-m", "desktop.cli", "--from", entry.source_language, "--to",
               entry.target_language, "--batch", str(batch), "-q", *extra]
    if model is not None:
        command += ["-m", str(model)]
    command += [str(source), "-o", str(output)]
    run = Run(entry.path, entry.cls)
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
        run.returncode, run.stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        run.stderr = (exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr) or ""
    run.seconds = round(time.monotonic() - started, 2)
    run.source_unchanged = hashlib.sha256(source.read_bytes()).hexdigest() == entry.sha256
    run.leftovers = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*")
                           if p.is_file() and p not in (source, output))
    classify(entry, run, source, output)
    return run


def classify(entry: Entry, run: Run, source: Path, output: Path) -> None:
    errors = [line for line in run.stderr.splitlines() if line.startswith("alma-translate: error:")]
    if run.returncode is None:
        run.outcome, run.message = "crashed", "no answer before the timeout"
    elif "Traceback (most recent call last)" in run.stderr or run.returncode not in (0, 2):
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        run.outcome, run.message = "crashed", f"exit {run.returncode}: {lines[-1] if lines else '(no message)'}"
    elif run.returncode == 2:
        run.outcome = "refused"
        run.message = errors[-1].removeprefix("alma-translate: error: ") if errors else "(exit 2 without a message)"
        if len(errors) != 1:
            run.problems.append(f"exit 2 with {len(errors)} error lines instead of one")
    else:
        if not output.is_file():
            run.problems.append("exit 0 but no output file")
        else:
            try:
                for found in check_structure(source, output):
                    (run.notes if found.startswith(NOTE) else run.problems).append(found.removeprefix(NOTE))
            except Exception as exc:  # a checker failing on an output is the output's problem: report it
                run.problems.append(f"the structure check could not read the output ({type(exc).__name__}: {exc})")
        run.outcome = "lost structure" if run.problems else "translated"
    if not run.source_unchanged:
        run.problems.append("the source file was changed")
    if run.leftovers:
        run.problems.append(f"files left besides the output: {', '.join(run.leftovers)}")
    if run.outcome in ("translated", "refused") and (not run.source_unchanged or run.leftovers):
        run.outcome = "lost structure"


def expected(entry: Entry, run: Run) -> bool:
    """Whether the outcome is what the manifest expects: translated, or refused with a message matching."""
    for option in entry.expect.split(" or "):
        option = option.strip()
        if option == "translated" and run.outcome == "translated":
            return True
        if option.startswith("refused:") and run.outcome == "refused" and not run.problems:
            pattern = option.removeprefix("refused:").strip()
            reason = re.sub(r"\S*" + re.escape(entry.name) + r"\S*", "", run.message)  # not the file's name
            if re.search(pattern, reason, re.IGNORECASE) and entry.name in run.message:
                return True
    return False


# -- bytes outside the text ----------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def bom_of(data: bytes) -> tuple[bytes, str | None]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return bom, encoding
    return b"", None


def declared_charset(data: bytes) -> str | None:
    """The encoding a file names for itself: an XML declaration, an HTML meta, a .po header."""
    head = data[:4096].decode("latin-1")
    for pattern in (r"<\?xml[^>]*encoding=[\"']([\w.:-]+)", r"charset=[\"']?([\w.:-]+)"):
        match = re.search(pattern, head, re.IGNORECASE)
        if match and match.group(1).upper() not in ("CHARSET",):
            try:
                return codecs.lookup(match.group(1).replace("_", "-")).name
            except LookupError:
                return None
    return None


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM decides, else UTF-8 if it decodes, else the declared charset, else a guess. An
    ASCII file is in the charset it declares (an XML file saying windows-1252 is one, whatever its bytes so far)."""
    bom, encoding = bom_of(data)
    if encoding:
        return data[len(bom):].decode(encoding), encoding
    charset = declared_charset(data)
    if charset and data.isascii() and codecs.lookup(charset).name not in ("utf-16", "utf-32"):
        return data.decode("ascii"), charset
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(charset), charset
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return data.decode("latin-1"), "latin-1"
    return str(best), best.encoding


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def line_endings(text: str) -> Counter:
    return Counter("CRLF" if m == "\r\n" else "CR" if m == "\r" else "LF" for m in re.findall(r"\r\n|\r|\n", text))


def check_bytes(src: bytes, out: bytes, counts: bool, charset: str | None = None) -> tuple[list[str], str, str]:
    """The bytes around the text: BOM, encoding, line endings (kinds, or counts), final newline, XML declaration.
    `charset`: the encoding both files are in by their format's rules (an HTML page's <meta>), where the
    source has no BOM; the output must decode in it.

    Returns (problems, source text, output text)."""
    problems = []
    src_bom, _ = bom_of(src)
    out_bom, _ = bom_of(out)
    if charset and not src_bom:
        src_text, encoding = src.decode(charset), charset
    else:
        src_text, encoding = decode(src)
    out_encoding = bom_of(out)[1] or encoding
    if src_bom != out_bom:
        problems.append(f"BOM {src_bom.hex() or 'none'} -> {out_bom.hex() or 'none'}")
    try:
        out_text = out[len(out_bom):].decode(out_encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        if charset and not src_bom:
            problems.append(f"the output does not decode as its declared charset {charset} ({exc})")
        out_text, out_encoding = decode(out)
    declared_out = declared_charset(out)
    if codecs.lookup(out_encoding).name != codecs.lookup(encoding).name:
        # A charset the output declares itself (a .po catalog whose ASCII could not hold the translation says
        # UTF-8 now) is a change the format's own check judges; an undeclared one is lost bytes.
        if not (declared_out and declared_out != declared_charset(src)
                and codecs.lookup(declared_out).name == codecs.lookup(out_encoding).name):
            problems.append(f"encoding {encoding} -> {out_encoding}")
    elif not out_bom and codecs.lookup(encoding).name != "utf-8" and not out.isascii() and _is_utf8(out):
        problems.append(f"UTF-8 bytes in a {encoding} file")  # decodes as both: the writer ignored the charset
    src_ends, out_ends = line_endings(src_text), line_endings(out_text)
    if counts and src_ends != out_ends:
        problems.append(f"line endings {dict(src_ends)} -> {dict(out_ends)}")
    elif not counts and (set(out_ends) - set(src_ends) or (src_ends and out_ends and
                                                          src_ends.most_common(1)[0][0] != out_ends.most_common(1)[0][0])):
        # Line breaks inside translated text may go (HTML and XML whitespace collapses): the file's own
        # style must stay, and no other style may come in.
        problems.append(f"line endings {dict(src_ends)} -> {dict(out_ends)}")
    if src_text.endswith(("\n", "\r")) != out_text.endswith(("\n", "\r")):
        problems.append("final newline " + ("lost" if src_text.endswith(("\n", "\r")) else "added"))
    src_decl = re.match(r"\s*<\?xml[^>]*\?>", src_text)
    out_decl = re.match(r"\s*<\?xml[^>]*\?>", out_text)
    if src_decl and (not out_decl or src_decl.group().strip() != out_decl.group().strip()):
        problems.append(f"XML declaration {src_decl.group().strip()!r} -> "
                        f"{out_decl.group().strip() if out_decl else None!r}")
    return problems, src_text, out_text


# -- XLIFF ------------------------------------------------------------------------------------------------

NS12 = "urn:oasis:names:tc:xliff:document:1.2"
NS20 = "urn:oasis:names:tc:xliff:document:2.0"
_INLINE = {"g", "x", "bx", "ex", "bpt", "ept", "ph", "it", "mrk", "sub", "pc", "sc", "ec", "sm", "em", "cp"}
_schemas: dict[str, object] = {}


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def xliff_schema(name: str):
    """An OASIS schema from tests/data/corpus/schemas, xml.xsd resolved locally (no network)."""
    from lxml import etree

    if name not in _schemas:
        class Local(etree.Resolver):
            def resolve(self, url, pubid, context):
                if url.endswith("xml.xsd"):
                    return self.resolve_filename(str(SCHEMAS / "xml.xsd"), context)
                return None

        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        parser.resolvers.add(Local())
        _schemas[name] = etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))
    return _schemas[name]


def _xml(data: bytes):
    from lxml import etree

    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))


def _inline(element) -> Counter:
    """The inline elements inside an element: (name, id or mid) each."""
    found = Counter()
    if element is None:
        return found
    for node in element.iterdescendants():
        name = _local(node.tag)
        if name in _INLINE:
            found[(name, node.get("id") or node.get("mid") or "")] += 1
    return found


def _text(element) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None)


def _units(root) -> list:
    """trans-units (1.x) or segments with their unit id (2.0), in document order."""
    found = []
    for node in root.iter():
        name = _local(node.tag)
        if name == "trans-unit":
            found.append((node.get("id"), node))
        elif name == "segment":
            unit = node.getparent()
            found.append((f"{unit.get('id')}/{node.get('id') or len(found)}", node))
    return found


def check_xliff(src: bytes, out: bytes) -> list[str]:
    from lxml import etree

    problems, _, _ = check_bytes(src, out, counts=False)
    try:
        out_root = _xml(out)
    except etree.XMLSyntaxError as exc:
        return [*problems, f"output not well-formed XML: {exc}"]
    src_root = _xml(src)
    namespace = src_root.nsmap.get(None)
    schemas = {NS12: ("xliff-core-1.2-strict.xsd", "xliff-core-1.2-transitional.xsd"),
               NS20: ("xliff_core_2.0.xsd",)}.get(namespace, ())
    for name in schemas:
        schema = xliff_schema(name)
        if schema.validate(src_root.getroottree()):
            if not schema.validate(out_root.getroottree()):
                error = schema.error_log.filter_from_errors()[0] if schema.error_log.filter_from_errors() else "?"
                problems.append(f"the output does not validate against {name} (the source does): "
                                f"line {getattr(error, 'line', '?')}: {getattr(error, 'message', error)}")
            break
    src_units, out_units = _units(src_root), _units(out_root)
    if [i for i, _ in src_units] != [i for i, _ in out_units]:
        problems.append(f"unit ids differ: {len(src_units)} units -> {len(out_units)}")
        return problems
    empty_before, still_empty, tag_changes, source_changes, syntax_changes = 0, [], [], [], []
    for (unit_id, before), (_, after) in zip(src_units, out_units, strict=False):
        src_source, out_source = _child(before, "source"), _child(after, "source")
        if etree.tostring(src_source, with_tail=False) != etree.tostring(out_source, with_tail=False):
            source_changes.append(unit_id)
        holder = before if _local(before.tag) == "trans-unit" else before.getparent()
        if (holder.get("translate") or "yes") == "no" or not any(c.isalpha() for c in _text(src_source)):
            continue
        src_target, out_target = _child(before, "target"), _child(after, "target")
        if _text(src_target).strip():
            continue  # translated before: left as it was (or overwritten: not checked here)
        empty_before += 1
        if not _text(out_target).strip():
            still_empty.append(unit_id)
            continue
        reference = _child(before, "seg-source")  # a segmented unit: its target repeats the segment markers
        wanted = _inline(reference if reference is not None else src_source)
        got = _inline(out_target)
        if wanted != got:
            missing, extra = wanted - got, got - wanted
            tag_changes.append(f"{unit_id}: " + ", ".join(
                [f"lost <{n} {i}>" for (n, i) in missing] + [f"added <{n} {i}>" for (n, i) in extra]))
        changed = software_problems(_text(reference if reference is not None else src_source), _text(out_target))
        if changed:
            syntax_changes.append(f"{unit_id}: {'; '.join(changed)}")
    if source_changes:
        problems.append(f"{len(source_changes)} <source> changed (first: unit {source_changes[0]})")
    if still_empty:
        problems.append(f"{len(still_empty)} of {empty_before} untranslated units still without a target "
                        f"(first: unit {still_empty[0]})")
    if tag_changes:
        problems.append(f"inline elements changed in {len(tag_changes)} targets (first: {tag_changes[0]})")
    if syntax_changes:
        problems.append(f"placeholders or ICU syntax changed in {len(syntax_changes)} targets "
                        f"(first: {syntax_changes[0]})")
    return problems


# -- gettext ---------------------------------------------------------------------------------------------

# A '%' glued to a word is one placeholder (Drupal's %name, %url), read before printf's conversions.
_PLACEHOLDER = re.compile(r"%[A-Za-z_][A-Za-z0-9_]+|%(?:\d+\$)?(?:\([^)]+\))?[-+#0]*\d*(?:\.\d+)?[sdifuxXoeEgGcr@%]|\{[\w.]*\}"
                          r"|\$\{?[A-Za-z_]\w*\}?|<[^<>]+>|&\w+;")


def placeholders(text: str) -> Counter:
    return Counter(_PLACEHOLDER.findall(text))


_ICU_BRANCHING = re.compile(r"\{\s*[^\s{}',#]+\s*,\s*(?:plural|select|selectordinal)\s*,")


def icu_shape(text: str):
    """An ICU message's syntax without its texts, read by pyicumessageformat (an independent parser): argument
    names and types, offsets, selectors, `#` and nested arguments in order; None when the text has no plural or
    select argument, "unreadable" when it has one but does not parse."""
    if not _ICU_BRANCHING.search(text):
        return None
    from pyicumessageformat import Parser

    try:
        tree = Parser().parse(text)
    except Exception:  # its SyntaxError and whatever a broken message makes it raise
        return "unreadable"

    def shape(nodes):
        return [{key: ({selector: shape(branch) for selector, branch in value.items()} if key == "options" else value)
                 for key, value in node.items()} for node in nodes if not isinstance(node, str)]

    return shape(tree)


def icu_texts(text: str) -> str:
    """The literal texts of an ICU message (one per line), as pyicumessageformat reads them; "" when it does not."""
    from pyicumessageformat import Parser

    try:
        tree = Parser().parse(text)
    except Exception:
        return ""

    def texts(nodes):
        for node in nodes:
            if isinstance(node, str):
                yield node
            else:
                for branch in node.get("options", {}).values():
                    yield from texts(branch)

    return "\n".join(texts(tree))


def software_problems(source: str, translation: str) -> list[str]:
    """What a translation of a software string changed of its source's syntax: a placeholder not there exactly as
    often, an ICU message whose syntax does not read the same."""
    problems = []
    shape = icu_shape(source)
    if shape not in (None, "unreadable"):  # an ICU message: its branches' braces are syntax, checked by shape
        wanted, got = placeholders(icu_texts(source)), placeholders(icu_texts(translation))
    else:
        wanted, got = placeholders(source), placeholders(translation)
    if wanted != got:
        problems.append(f"placeholders {sorted((wanted - got).elements())} lost, {sorted((got - wanted).elements())} "
                        "added")
    if shape not in (None, "unreadable") and icu_shape(translation) != shape:
        problems.append("ICU syntax changed")
    return problems


def _po_entries(data: bytes, path: Path):
    """[(msgctxt, msgid, msgid_plural, obsolete, msgstr forms)] with polib; translate-toolkit where polib refuses."""
    import polib

    try:
        catalog = polib.pofile(str(path))
        return [(e.msgctxt, e.msgid, e.msgid_plural, e.obsolete,
                 [e.msgstr] if not e.msgid_plural else [e.msgstr_plural[k] for k in sorted(e.msgstr_plural)])
                for e in [*catalog, *catalog.obsolete_entries()] if e.msgid], "polib"
    except (OSError, UnicodeDecodeError, ValueError):
        from translate.storage import pypo

        store = pypo.pofile(data)
        entries = []
        for unit in store.units:
            if unit.isheader():
                continue
            source, target = unit.source, unit.target
            plural = unit.hasplural()
            sources = source.strings if plural else [source]
            targets = target.strings if plural and target is not None else [target or ""]
            entries.append((unit.getcontext() or None, str(sources[0]), str(sources[1]) if plural else "",
                            unit.isobsolete(), [str(t or "") for t in targets]))
        return entries, "translate-toolkit"


def check_po(source: Path, output: Path) -> list[str]:
    src, out = source.read_bytes(), output.read_bytes()
    problems, _, _ = check_bytes(src, out, counts=False)
    charset = declared_charset(out)
    if charset:
        try:
            out.decode(charset)
        except UnicodeDecodeError as exc:
            problems.append(f"the output does not decode as its declared charset {charset} ({exc.reason})")
    try:
        before, reader = _po_entries(src, source)
        after, _ = _po_entries(out, output)
    except Exception as exc:
        return [*problems, f"the output is not a readable catalogue ({type(exc).__name__}: {exc})"]
    if [e[:4] for e in before] != [e[:4] for e in after]:
        problems.append(f"entries differ ({reader}): {len(before)} -> {len(after)}")
        return problems
    lost, empty = [], 0
    for (_ctx, msgid, plural, obsolete, old), (_, _, _, _, new) in zip(before, after, strict=False):
        if obsolete or any(old) or not any(c.isalpha() for c in msgid):
            continue
        if not any(new):
            empty += 1
            continue
        if not plural:  # a plural's forms may say "one" for %d: those are only checked for losses
            changed = software_problems(msgid, new[0])
            if changed:
                lost.append(f"{msgid[:40]!r}: {'; '.join(changed)}")
            continue
        wanted = placeholders(plural)
        for form in new:
            got = placeholders(form)
            if set(wanted) - set(got) and not set(placeholders(msgid)) <= set(got):
                lost.append(f"{msgid[:40]!r}: {sorted(set(wanted) - set(got))}")
                break
    if empty:
        problems.append(f"{empty} untranslated entries still empty")
    if lost:
        problems.append(f"placeholders lost or changed in {len(lost)} entries (first: {lost[0]})")
    return problems


# -- office --------------------------------------------------------------------------------------------


def check_zip(source: Path, output: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(output) as b:
        src_names, out_names = set(a.namelist()), set(b.namelist())
        if src_names - out_names:
            problems.append(f"zip members lost: {sorted(src_names - out_names)[:5]}")
        if out_names - src_names:
            problems.append(f"zip members added: {sorted(out_names - src_names)[:5]}")
        if source.suffix in (".odt", ".odp", ".ods", ".epub"):  # ODF, OCF: mimetype first and stored
            def mimetype_first(package: zipfile.ZipFile) -> bool:
                first = package.infolist()[0]
                return first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED

            if mimetype_first(a) and not mimetype_first(b):
                problems.append("mimetype is no longer the first, uncompressed zip member")
    return problems


def _compare(label: str, before, after, problems: list[str]) -> None:
    if before != after:
        problems.append(f"{label}: {before} -> {after}")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Run properties that do not change the look (spelling language, proofing, revision ids): not a format.
_VOLATILE = re.compile(r'\s(w:rsid\w*|w14:\w+|w:hint|lang|altLang|dirty|err|noProof|smtClean|xmlns:\w+)="[^"]*"'
                       r'|<w:lang [^>]*/>|<w:noProof[^>]*/>')


def _word_parts(path: Path) -> dict[str, bytes]:
    """The parts of a .docx that hold text: the body, headers, footers, notes and comments."""
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()
                if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml", name)}


def _formats(paragraph, run_tag: str, props_tag: str, text_tag: str) -> set[str]:
    """The set of run formats with text in a paragraph (formats, not runs: runs of one format may merge)."""
    from lxml import etree

    found = set()
    for run in paragraph.iter(run_tag):
        if "".join(t.text or "" for t in run.iter(text_tag)).strip():
            props = run.find(props_tag)
            found.add(_VOLATILE.sub("", etree.tostring(props).decode()) if props is not None else "")
    return found


def word_summary(path: Path) -> dict[str, object]:
    """What must survive a translation of a .docx, part by part (python-docx for the body, lxml for the rest)."""
    import docx

    document = docx.Document(str(path))
    summary: dict[str, object] = {
        "body paragraphs": len(document.paragraphs),
        "tables (rows x columns)": [(len(t.rows), len(t.columns)) for t in document.tables],
    }
    for name, data in sorted(_word_parts(path).items()):
        root = _xml(data)
        paragraphs = list(root.iter(f"{_W}p"))
        hyperlinks = list(root.iter(f"{_W}hyperlink"))
        summary[name] = {
            "paragraphs": len(paragraphs),
            "hyperlinks": len(hyperlinks),
            "hyperlinks with text": sum(1 for h in hyperlinks if "".join(t.text or "" for t in h.iter(f"{_W}t")).strip()),
            "fields": [t.text for t in root.iter(f"{_W}instrText")] + [f.get(f"{_W}instr") for f in
                                                                      root.iter(f"{_W}fldSimple")],
            "text boxes": sum(1 for _ in root.iter(f"{_W}txbxContent")),
            "content controls": sum(1 for _ in root.iter(f"{_W}sdt")),
            "breaks and tabs": sum(1 for _ in root.iter(f"{_W}br", f"{_W}tab", f"{_W}cr")),
            "run formats per paragraph": [len(_formats(p, f"{_W}r", f"{_W}rPr", f"{_W}t")) for p in paragraphs],
        }
    return summary


_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def pptx_summary(path: Path) -> dict[str, object]:
    from pptx import Presentation

    deck = Presentation(str(path))
    slides = []
    for slide in deck.slides:
        shapes = []
        for shape in slide.shapes:
            element = shape.element
            paragraphs = list(element.iter(f"{_A}p"))
            shapes.append({
                "paragraphs": len(paragraphs),
                "line breaks": sum(1 for _ in element.iter(f"{_A}br")),
                "hyperlinks": sum(1 for r in element.iter(f"{_A}hlinkClick")),
                "table": (len(shape.table.rows), len(shape.table.columns)) if shape.has_table else None,
                "run formats per paragraph": [len(_formats(p, f"{_A}r", f"{_A}rPr", f"{_A}t")) for p in paragraphs],
            })
        notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
        slides.append({"shapes": shapes, "notes paragraphs": len(notes.paragraphs) if notes is not None else 0})
    return {"slides": slides}


def check_xlsx(source: Path, output: Path) -> list[str]:
    import openpyxl

    problems = []
    before, after = openpyxl.load_workbook(source), openpyxl.load_workbook(output)
    _compare("sheets", before.sheetnames, after.sheetnames, problems)
    if problems:
        return problems
    for a, b in zip(before.worksheets, after.worksheets, strict=False):
        _compare(f"{a.title}: dimensions", a.dimensions, b.dimensions, problems)
        _compare(f"{a.title}: merged cells", sorted(map(str, a.merged_cells.ranges)),
                 sorted(map(str, b.merged_cells.ranges)), problems)
        changed = []
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=False):
            for x, y in zip(row_a, row_b, strict=False):
                if (x.data_type, bool(x.hyperlink)) != (y.data_type, bool(y.hyperlink)) or (
                        x.data_type != "s" and x.value != y.value):
                    changed.append(x.coordinate)
                if x.hyperlink and y.hyperlink and (x.hyperlink.target, x.hyperlink.location) != (
                        y.hyperlink.target, y.hyperlink.location):
                    changed.append(f"{x.coordinate} (hyperlink target)")
        if changed:
            problems.append(f"{a.title}: cells changed beyond their text: {changed[:5]}")
        _compare(f"{a.title}: comments", sum(1 for r in a.iter_rows() for c in r if c.comment),
                 sum(1 for r in b.iter_rows() for c in r if c.comment), problems)
        _compare(f"{a.title}: tables", sorted((t.name, t.ref) for t in a.tables.values()),
                 sorted((t.name, t.ref) for t in b.tables.values()), problems)
        for table in b.tables.values():
            if not table.headerRowCount and table.headerRowCount is not None:
                continue
            first = b[table.ref.split(":")[0]]
            headers = [b.cell(first.row, first.column + i).value for i in range(len(table.tableColumns))]
            names = [column.name for column in table.tableColumns]
            if [str(h) if h is not None else None for h in headers] != names:
                problems.append(f"{a.title}: table {table.name} column names {names} do not follow its header "
                                f"cells {headers}")
    return problems


_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODF_FIELDS = ("user-field-get", "user-field-decl", "date", "time", "page-number", "page-count", "variable-get",
               "variable-set", "sequence", "chapter", "author-name", "title", "file-name", "initial-creator")


def odf_summary(path: Path) -> dict[str, object]:
    summary: dict[str, object] = {}
    with zipfile.ZipFile(path) as package:
        for name in ("content.xml", "styles.xml"):
            root = _xml(package.read(name))
            paragraphs = [n for n in root.iter(f"{_TEXT}p", f"{_TEXT}h")]
            links = list(root.iter(f"{_TEXT}a"))
            summary[name] = {
                "paragraphs and headings": len(paragraphs),
                "links": len(links),
                "links with text": sum(1 for a in links if "".join(a.itertext()).strip()),
                "fields": Counter(_local(n.tag) for n in root.iter() if _local(n.tag) in _ODF_FIELDS and
                                  n.tag.startswith(_TEXT)),
                "tables (rows x columns)": [(len(list(t.iter(f"{_TABLE}table-row"))),
                                            len(list(t.iter(f"{_TABLE}table-column"))))
                                           for t in root.iter(f"{_TABLE}table")],
                "line breaks and tabs": sum(1 for _ in root.iter(f"{_TEXT}line-break", f"{_TEXT}tab")),
                "notes": sum(1 for _ in root.iter(f"{_TEXT}note")),
                "span styles per paragraph": [sorted({s.get(f"{_TEXT}style-name") for s in p.iter(f"{_TEXT}span")
                                                      if "".join(s.itertext()).strip()}) for p in paragraphs],
            }
    return summary


def _diff_summary(before: dict, after: dict, problems: list[str], where: str = "") -> None:
    for key, value in before.items():
        other = after.get(key) if isinstance(after, dict) else None
        if isinstance(value, dict) and isinstance(other, dict):
            _diff_summary(value, other, problems, f"{where}{key}: ")
        elif isinstance(value, list) and isinstance(other, list) and value and isinstance(value[0], dict):
            if len(value) != len(other):
                problems.append(f"{where}{key}: {len(value)} -> {len(other)}")
            for number, (x, y) in enumerate(zip(value, other, strict=False), 1):
                _diff_summary(x, y, problems, f"{where}{key} {number}: ")
        elif value != other:
            if isinstance(value, list) and isinstance(other, list) and len(value) == len(other):
                changed = [i for i, (x, y) in enumerate(zip(value, other, strict=False), 1) if x != y]
                problems.append(f"{where}{key} differ at {len(changed)} of {len(value)} (first: number {changed[0]}:"
                                f" {value[changed[0] - 1]} -> {other[changed[0] - 1]})")
            else:
                problems.append(f"{where}{key}: {value} -> {other}")


def check_office(source: Path, output: Path) -> list[str]:
    problems = check_zip(source, output)
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        return problems + check_xlsx(source, output)
    summarise = {".docx": word_summary, ".pptx": pptx_summary}.get(suffix, odf_summary)
    try:
        before = summarise(source)
    except Exception as exc:  # e.g. a Strict .docx python-docx cannot open: the zip members were compared
        return [*problems, f"{NOTE}the reference library cannot read the source ({type(exc).__name__}); "
                           "zip members compared only"]
    _diff_summary(before, summarise(output), problems)
    return problems


# -- EPUB and PDF ----------------------------------------------------------------------------------------

_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_XMLLANG = "{http://www.w3.org/XML/1998/namespace}lang"
_EPUB_TEXT = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "a", "td", "th", "nav", "section", "img", "svg")
EPUBCHECK = Path("/usr/share/java/epubcheck.jar")  # Debian's epubcheck package (the W3C's checker, Java)


def _epubcheck(path: Path) -> list[str] | None:
    """EPUBCheck's ERROR and FATAL messages without the file's path, or None when it is not installed."""
    jar = EPUBCHECK if EPUBCHECK.is_file() else Path("/usr/bin/epubcheck")
    if shutil.which("java") is None or not jar.is_file():
        return None
    done = subprocess.run(["java", "-jar", str(jar), str(path)], capture_output=True, text=True, errors="replace",
                          timeout=300)
    return sorted(re.sub(r"^(\w+\([\w-]+\)): \S*?" + re.escape(path.name) + r"/?", r"\1: ", line)
                  for line in (done.stdout + done.stderr).splitlines() if line.startswith(("ERROR", "FATAL")))


def epub_summary(path: Path) -> dict[str, object]:
    """The package document's manifest and spine, dc:language, and per XHTML document the count of its text
    elements and its root's languages (every document, OPF and NCX parsed as XML: well-formed or it raises)."""
    with zipfile.ZipFile(path) as package:
        container = _xml(package.read("META-INF/container.xml"))
        opf_name = next(e.get("full-path") for e in container.iter() if _local(e.tag) == "rootfile")
        opf = _xml(package.read(opf_name))
        base = posixpath.dirname(opf_name)
        items = [(i.get("id"), i.get("href"), i.get("media-type"), i.get("properties")) for i in opf.iter(f"{_OPF}item")]
        documents = {}
        for _, href, media_type, _ in items:
            name = posixpath.normpath(posixpath.join(base, href))
            if media_type == "application/xhtml+xml":
                root = _xml(package.read(name))
                documents[name] = {"elements": Counter(_local(e.tag) for e in root.iter() if isinstance(e.tag, str)
                                                       and _local(e.tag) in _EPUB_TEXT),
                                   "lang": (root.get(_XMLLANG), root.get("lang"))}
            elif media_type == "application/x-dtbncx+xml":
                documents[name] = {"labels": sum(1 for e in _xml(package.read(name)).iter() if _local(e.tag) == "text")}
        return {"manifest": items, "spine": [i.get("idref") for i in opf.iter(f"{_OPF}itemref")],
                "languages": [e.text for e in opf.iter(f"{_DC}language")], "documents": documents,
                "opf": opf_name}


def check_epub(source: Path, output: Path) -> list[str]:
    problems = check_zip(source, output)
    with zipfile.ZipFile(output) as package:
        first = package.infolist()[0]
        if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED or first.extra:
            problems.append("mimetype is not the first, stored zip member without an extra field")
    before, after = epub_summary(source), epub_summary(output)
    target = output.stem.rsplit(".", 1)[-1]
    if after["languages"][:1] != [target]:
        problems.append(f"dc:language is {after['languages']}, not {target}")
    for name, summary in after["documents"].items():
        if "lang" in summary and target not in summary["lang"]:
            problems.append(f"{name}: the document's language is {summary['lang']}, not {target}")
    for key in ("manifest", "spine"):
        _compare(key, before[key], after[key], problems)
    for name, summary in before["documents"].items():
        summary.pop("lang", None)
        after["documents"][name].pop("lang", None)
        _diff_summary(summary, after["documents"][name], problems, f"{name}: ")
    # Every member that holds no text to translate is the source's, byte for byte.
    edited = {before["opf"], *before["documents"]}
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(output) as b:
        for name in a.namelist():
            if name not in edited and name in b.namelist() and a.read(name) != b.read(name):
                problems.append(f"{name} changed, though it holds nothing translated")
    errors_before, errors_after = _epubcheck(source), _epubcheck(output)
    if errors_before is None:
        problems.append(f"{NOTE}EPUBCheck is not installed (apt install epubcheck): checked with lxml only")
    elif set(errors_after) - set(errors_before):
        problems.append(f"EPUBCheck finds new errors: {sorted(set(errors_after) - set(errors_before))[:3]}")
    return problems


def check_pdf(source: Path, output: Path) -> list[str]:
    """The .docx a PDF became: python-docx reads it, no paragraph is empty, a page break for each page that
    starts a new paragraph (at most one less than the pages), the header or footer where pages repeated one."""
    from docx import Document
    from pdfminer.high_level import extract_pages

    problems = []
    pages = sum(1 for _ in extract_pages(source))
    document = Document(str(output))
    paragraphs = document.paragraphs
    if not any(p.text.strip() for p in paragraphs):
        problems.append("the Word document has no text")
    empty = sum(1 for p in paragraphs if not p.text.strip())
    if empty:
        problems.append(f"{empty} empty paragraphs")
    breaks = sum(1 for p in paragraphs if p.paragraph_format.page_break_before)
    if not (min(1, pages - 1) <= breaks <= pages - 1):
        problems.append(f"{breaks} page breaks for {pages} pages")
    if any(re.search(r"[^\W\d_]-$", p.text.strip()) for p in paragraphs if len(p.text) > 40):
        problems.append("a paragraph ends in a hyphen (a line-end hyphenation not undone)")
    return problems


# -- subtitles -----------------------------------------------------------------------------------------

_TIMING = re.compile(r"^\s*(?:\d+:)?\d+:\d+(?:[.,]\d+)?\s+-->\s+\S+.*$")
# Cue markup as each format reads it. WebVTT (the spec's cue text tokenizer): every '<' opens a tag (a literal
# one is written &lt;), '<' and a digit a timestamp. SubRip has no spec; players (VLC, MPC-HC) take '<' and a
# letter for a tag and show any other '<...>' as text (capability_tester.srt: `2<3,5>1,4<6`), and take
# `{\an8}`-style overrides from ASS.
_VTT_TAG = re.compile(r"</?[^<>\s/][^<>]*>|<\d[\d:.]*>")
_SRT_TAG = re.compile(r"</?[A-Za-z][^<>]*>|\{\\[^{}]*\}")


def cues(text: str) -> list[tuple[str, list[str]]]:
    """(timing line, text lines) per cue. As WebVTT parsers read it: a cue's text runs to a blank line or to a
    line with '-->' (which is not text); as SRT readers do, a number just before a timing line is the next
    cue's number, not text."""
    lines = re.split(r"\r\n|\r|\n", text)
    found: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(lines):
        if _TIMING.match(line):
            current = []
            found.append((line.strip(), current))
        elif current is None:
            continue
        elif not line.strip() or "-->" in line:
            current = None
        elif line.strip().isdigit() and number + 1 < len(lines) and _TIMING.match(lines[number + 1]):
            current = None
        else:
            current.append(line)
    return found


def blocks(text: str, kind: str) -> list[str]:
    """WebVTT STYLE or REGION blocks and the header line, as they are."""
    found = []
    for block in re.split(r"(?:\r\n|\r|\n){2,}", text):
        if block.lstrip("\ufeff").startswith(kind):
            found.append(block)
    return found


def check_subtitles(src: bytes, out: bytes, vtt: bool) -> list[str]:
    problems, src_text, out_text = check_bytes(src, out, counts=False)
    before, after = cues(src_text), cues(out_text)
    if [t for t, _ in before] != [t for t, _ in after]:
        problems.append(f"cues or timings changed: {len(before)} cues -> {len(after)}")
        return problems
    lines, markup = [], []
    tag = _VTT_TAG if vtt else _SRT_TAG
    for number, ((timing, a), (_, b)) in enumerate(zip(before, after, strict=False), 1):
        # A cue keeps its number of lines, or has fewer when its translation has fewer words than the source
        # has lines (one word a line at least: no empty line, which would end the cue).
        words = len(tag.sub("", " ".join(b)).split())
        if len(b) > len(a) or len(b) < min(len(a), words):
            lines.append(f"cue {number} ({timing[:12]}): {len(a)} -> {len(b)} lines ({words} words)")
        tags_a, tags_b = Counter(tag.findall("\n".join(a))), Counter(tag.findall("\n".join(b)))
        if tags_a != tags_b:
            markup.append(f"cue {number}: lost {sorted((tags_a - tags_b).elements())} "
                          f"added {sorted((tags_b - tags_a).elements())}")
    if lines:
        problems.append(f"line breaks changed in {len(lines)} of {len(before)} cues (first: {lines[0]})")
    if markup:
        problems.append(f"cue markup changed in {len(markup)} of {len(before)} cues (first: {markup[0]})")
    if vtt:
        for kind in ("WEBVTT", "STYLE", "Region:", "REGION"):
            if blocks(src_text, kind) != blocks(out_text, kind):
                problems.append(f"{kind} block changed")
    return problems


# -- Markdown, HTML, text ------------------------------------------------------------------------------


def markdown_summary(text: str) -> list[tuple]:
    """Block structure and everything in it that is not prose (markdown-it-py tokens)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    summary: list[tuple] = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("code_inline", "html_inline"):
                    summary.append((child.type, child.content))
                elif child.type in ("link_open", "image"):
                    summary.append((child.type, child.attrGet("href") or child.attrGet("src")))
            if re.fullmatch(r"\s*<?https?://\S+>?\s*", token.content):
                summary.append(("url paragraph", token.content.strip()))
        elif token.type in ("fence", "code_block", "html_block"):
            summary.append((token.type, token.info, token.content))
        else:
            summary.append((token.type, token.tag, token.markup))
    return summary


def check_markdown(src: bytes, out: bytes) -> list[str]:
    problems, src_text, out_text = check_bytes(src, out, counts=False)
    before, after = markdown_summary(src_text), markdown_summary(out_text)
    if before != after:
        problems.append(_first_change("Markdown structure changed at token", before, after, repr))
    return problems


def _first_change(what: str, before: list, after: list, show=str) -> str:
    """'<what> N of M: old -> new' for the first item where two lists of a file's shapes differ."""
    changed = next((i for i, (x, y) in enumerate(zip(before, after, strict=False)) if x != y),
                   min(len(before), len(after)))
    return (f"{what} {changed + 1} of {len(before)}: {show(before[changed] if changed < len(before) else None)} -> "
            f"{show(after[changed] if changed < len(after) else None)}")


def _translatable(element, attribute: str) -> bool:
    """Attributes a translator translates (so they may change): alt, title, button labels, descriptions."""
    if attribute in ("alt", "title", "placeholder", "label", "aria-label", "summary", "abbr"):
        return True
    if attribute == "value":
        return element.tag == "input" and (element.get("type") or "").lower() in ("button", "submit", "reset")
    return attribute == "content" and (element.get("name") or "").lower() in ("description", "keywords")


_HTML_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)


def html_charset(data: bytes) -> str | None:
    """The Python codec of the charset a page's <meta> in its first 1024 bytes declares, by the WHATWG
    label table (webencodings: "iso-8859-1" and "ascii" are windows-1252, "utf-16" is UTF-8 there), as a
    browser reads it; None without one."""
    import webencodings

    match = _HTML_META_CHARSET.search(data[:1024])
    encoding = webencodings.lookup(match.group(1).decode("ascii")) if match else None
    if encoding is None:
        return None
    return "utf-8" if encoding.name in ("utf-16le", "utf-16be") else encoding.codec_info.name


def check_html(src: bytes, out: bytes) -> list[str]:
    from lxml import html

    charset = html_charset(src)
    problems, src_text, out_text = check_bytes(src, out, counts=False, charset=charset)
    if charset:
        declared, kept = _HTML_META_CHARSET.search(src[:1024]), _HTML_META_CHARSET.search(out[:1024])
        if kept is None or kept.group() != declared.group():
            problems.append(f"the <meta> declaring the charset changed: {declared.group()!r} -> "
                            f"{kept.group() if kept else None!r}")

    def shape(text: str) -> list[tuple]:
        root = html.document_fromstring(text.encode("utf-8"), parser=html.HTMLParser(encoding="utf-8"))
        return [(e.tag, tuple(sorted((k, v) for k, v in e.attrib.items() if not _translatable(e, k))),
                 e.text if e.tag in ("script", "style") else None)
                for e in root.iter() if isinstance(e.tag, str)]

    before, after = shape(src_text), shape(out_text)
    if before != after:
        problems.append(_first_change("HTML elements changed at element", before, after))
    return problems


def _text_blocks(text: str) -> list[list[tuple[str, str]]]:
    """The lines (body, ending) in blocks: runs of non-blank lines, and each blank line a block of its own."""
    blocks: list[list[tuple[str, str]]] = []
    previous_blank = True
    for body, ending in re.findall(r"([^\r\n\u2028]*)(\r\n|\r|\n|\u2028|$)", text)[:-1] or []:
        blank = not body.strip()
        if blank or previous_blank:
            blocks.append([])
        blocks[-1].append((body, ending))
        previous_blank = blank
    return blocks


def check_text(src: bytes, out: bytes) -> list[str]:
    """The same blocks and blank lines, each line's ending and tabs; a block of two or more lines without tabs
    (a paragraph an editor wrapped) may come back wrapped onto another number of lines with its ending."""
    problems, src_text, out_text = check_bytes(src, out, counts=False)
    a, b = _text_blocks(src_text), _text_blocks(out_text)
    if len(a) != len(b):
        return [*problems, f"blocks (paragraphs and blank lines): {len(a)} -> {len(b)}"]
    changed = []
    for number, (x, y) in enumerate(zip(a, b, strict=True), 1):
        line = sum(len(block) for block in a[:number - 1]) + 1
        if len(x) == len(y):
            if [e for _, e in x] != [e for _, e in y] or [bool(t.strip()) for t, _ in x] != [bool(t.strip()) for t, _ in y]:
                changed.append(f"line endings or blank lines changed (first: line {line})")
            elif any(t.count("\t") != u.count("\t") for (t, _), (u, _) in zip(x, y, strict=True)):
                changed.append(f"tabs changed (first: line {line})")
        elif len(x) < 2 or any("\t" in t for t, _ in x + y) or not all(t.strip() for t, _ in y) \
                or {e for _, e in y[:-1]} - {x[0][1]} or y[-1][1] != x[-1][1]:
            changed.append(f"lines: {len(x)} -> {len(y)} in a block that is no wrapped paragraph (line {line})")
    if changed:
        problems.append(f"{changed[0]}; {len(changed)} blocks changed")
    return problems


CHECKS: dict[str, Callable[[Path, Path], list[str]]] = {
    ".xlf": lambda s, o: check_xliff(s.read_bytes(), o.read_bytes()),
    ".po": check_po,
    ".pot": check_po,
    ".srt": lambda s, o: check_subtitles(s.read_bytes(), o.read_bytes(), vtt=False),
    ".vtt": lambda s, o: check_subtitles(s.read_bytes(), o.read_bytes(), vtt=True),
    ".md": lambda s, o: check_markdown(s.read_bytes(), o.read_bytes()),
    ".html": lambda s, o: check_html(s.read_bytes(), o.read_bytes()),
    ".txt": lambda s, o: check_text(s.read_bytes(), o.read_bytes()),
}
for _suffix in (".xliff", ".sdlxliff"):
    CHECKS[_suffix] = CHECKS[".xlf"]
CHECKS[".htm"] = CHECKS[".html"]
CHECKS[".markdown"] = CHECKS[".md"]
for _suffix in (".docx", ".pptx", ".xlsx", ".odt", ".odp"):
    CHECKS[_suffix] = check_office
CHECKS[".epub"] = check_epub
CHECKS[".pdf"] = check_pdf


def check_structure(source: Path, output: Path) -> list[str]:
    """What a translation of `source` into `output` lost: [] when the structure check passed."""
    check = CHECKS.get(source.suffix.lower())
    if check is None:
        return [f"no structure check for {source.suffix}"]
    return check(source, output)


# -- the benchmark ---------------------------------------------------------------------------------------


def hermetic_env(data_dir: Path) -> dict[str, str]:
    """The environment of the CLI runs: an empty user data folder (no memory, a fresh translation cache)."""
    env = dict(os.environ)
    env.update({"ALMA_LOCAL_DATA": str(data_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))})
    env.pop("ALMA_LOCAL_DEFAULT_MODEL", None)
    return env


def summary_line(runs: list[Run]) -> str:
    counts = Counter(run.outcome for run in runs)
    return ", ".join(f"{counts[o]} {o}" for o in OUTCOMES)


def print_table(entries: dict[str, Entry], runs: list[Run]) -> None:
    print(f"{'file':58} {'outcome':15} {'exp':4} {'s':>6}  detail")
    for run in runs:
        entry = entries[run.path]
        detail = run.message if run.outcome in ("refused", "crashed") else "; ".join(run.problems)
        mark = "ok" if expected(entry, run) else "NO"
        print(f"{run.path[:58]:58} {run.outcome:15} {mark:4} {run.seconds:6.1f}  {detail[:300]}")
    print()
    by_class: dict[str, list[Run]] = {}
    for run in runs:
        by_class.setdefault(run.cls, []).append(run)
    for cls, group in by_class.items():
        print(f"{cls:18} {len(group):3} files: {summary_line(group)}")
    print(f"{'all':18} {len(runs):3} files: {summary_line(runs)}; "
          f"{sum(expected(entries[r.path], r) for r in runs)} as expected")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="fast",
                        help="GGUF to translate with: a path, 'fast' (SmolLM2-135M, the tests' model; default) "
                             "or 'default' (no -m: what alma-translate picks)")
    parser.add_argument("--only", help="only the files whose corpus path contains this")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, help="passed to alma-translate (default: its own, 256)")
    parser.add_argument("--threads", type=int,
                        help="passed to alma-translate (default: its own; on a shared machine 1 is much faster: "
                             "llama.cpp's threads wait for each other while other processes hold the cores)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per file (default 900)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="keep the translations in this folder")
    args = parser.parse_args(argv)
    model = fast_model() if args.model == "fast" else None if args.model == "default" else Path(args.model)
    entries = [e for e in load_manifest() if not args.only or args.only in e.path]
    runs = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="alma-real-files-") as tmp:
        env = hermetic_env(Path(tmp) / "data")
        for number, entry in enumerate(entries, 1):
            workdir = Path(tmp) / f"{number:03d}"
            extra = (*(("--max-new-tokens", str(args.max_new_tokens)) if args.max_new_tokens else ()),
                     *(("--threads", str(args.threads)) if args.threads else ()))
            run = run_file(entry, workdir, model, args.batch, args.timeout, extra, env=env)
            runs.append(run)
            print(f"[{number}/{len(entries)}] {entry.path}: {run.outcome} ({run.seconds:.1f} s)", file=sys.stderr)
            if args.keep:
                for produced in (workdir / "out").iterdir():
                    target = args.keep / entry.cls / produced.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(produced, target)
    print_table({e.path: e for e in entries}, runs)
    elapsed = time.monotonic() - started
    print(f"\n{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), model {model or 'default'}, "
          f"--batch {args.batch}, --max-new-tokens {args.max_new_tokens or 'default'}, "
          f"--threads {args.threads or 'default'}, {elapsed:.0f} s, "
          f"{time.strftime('%Y-%m-%d')}")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "cpus": os.cpu_count(),
            "model": str(model or "default"), "batch": args.batch, "max_new_tokens": args.max_new_tokens,
            "threads": args.threads,
            "seconds": round(elapsed),
            "summary": dict(Counter(r.outcome for r in runs)),
            "files": [{**asdict(r), "expect": next(e.expect for e in entries if e.path == r.path),
                       "as_expected": expected(next(e for e in entries if e.path == r.path), r)} for r in runs],
        }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
