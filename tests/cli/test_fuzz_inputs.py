"""A fuzz corpus of hostile and malformed documents, each run through the real alma-translate.

Every format the CLI reads gets broken the ways real files break (wrong encodings, NUL bytes, cut
downloads, renamed files) and the ways hostile files are built (zip bombs, billion laughs, external
entities, 10,000-deep nesting, one 5 MB line). The rules, for every case: exit 0 or 2, never a
traceback, an error that names the file, the source byte for byte unchanged, and no temporary file
left behind. Inputs that do translate hold only "Hallo Welt." so the translation cache answers all
but the first and the whole corpus stays well under two minutes on two loaded cores.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "desktop" / "samples"
HELLO = "Hallo Welt."

OK, ERROR = "translated", "refused"

BASES = {
    "txt": f"{HELLO}\n",
    "md": f"# {HELLO}\n\n{HELLO}\n",
    "srt": f"1\n00:00:01,000 --> 00:00:02,000\n{HELLO}\n",
    "vtt": f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{HELLO}\n",
    "html": f"<html><body><p>{HELLO}</p></body></html>\n",
    "po": ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: en\\n"\n\n'
           f'msgid "{HELLO}"\nmsgstr ""\n'),
}

BILLION_LAUGHS_DTD = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
EXTERNAL_ENTITY_DTD = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _docx_bytes(text: str = HELLO) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _replace_document_xml(docx_data: bytes, path: Path, edit, compresslevel: int | None = None) -> None:
    """Write a copy of docx_data to path with word/document.xml replaced by edit(archive, info, xml)."""
    with zipfile.ZipFile(io.BytesIO(docx_data)) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                edit(out, info, data)
            else:
                out.writestr(info, data)


def _with_dtd(dtd: str, entity: str):
    def edit(out: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes) -> None:
        body = xml.decode()
        body = body[body.index("<w:document"):].replace(HELLO, f"Hallo &{entity}; Welt.")
        out.writestr(info, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + dtd + body)
    return edit


def _zip_bomb(out: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes) -> None:
    # 1.1 GB of spaces inside the body: valid XML, about 5 MB compressed (level 1 keeps building fast).
    head, tail = xml[:-len(b"</w:body></w:document>")], xml[-len(b"</w:body></w:document>"):]
    with out.open("word/document.xml", "w", force_zip64=True) as member:
        member.write(head)
        spaces = b" " * (1 << 20)
        for _ in range(1100):
            member.write(spaces)
        member.write(tail)


def _deep_docx(out: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes) -> None:
    # 10,000 nested content controls around the paragraph.
    body = xml.decode()
    start = body.index("<w:p>") if "<w:p>" in body else body.index("<w:p ")
    end = body.index("</w:p>") + len("</w:p>")
    nest = 10_000
    deep = "<w:sdt><w:sdtContent>" * nest + body[start:end] + "</w:sdtContent></w:sdt>" * nest
    out.writestr(info, body[:start] + deep + body[end:])


def build_corpus(folder: Path) -> dict[str, tuple[Path, str | None]]:
    """name -> (input path, expected outcome or None when either is acceptable)."""
    cases: dict[str, tuple[Path, str | None]] = {}

    def add(name: str, filename: str, data: bytes | str, expected: str | None) -> None:
        path = folder / filename
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        cases[name] = (path, expected)

    # Every line-based format: well formed, then broken in the ways real files are.
    for ext, text in BASES.items():
        add(f"{ext}-plain", f"plain.de.{ext}", text, OK)
        add(f"{ext}-latin1", f"latin1.de.{ext}", text.replace(HELLO, "Grüße, Welt.").encode("latin-1"), ERROR)
        add(f"{ext}-utf16-no-bom", f"utf16.de.{ext}", text.encode("utf-16-le"), ERROR)
        add(f"{ext}-nul", f"nul.de.{ext}", text.replace("Welt", "We\x00lt"), ERROR)
        add(f"{ext}-empty", f"empty.de.{ext}", b"", ERROR)
        add(f"{ext}-binary", f"binary.de.{ext}", bytes(range(256)) * 64, ERROR)
        add(f"{ext}-huge-line", f"huge.de.{ext}", "a" * (5 * 1024 * 1024), ERROR)
    # Encodings that are fine: a UTF-8 BOM, UTF-16 with its BOM, CRLF endings.
    add("txt-utf8-bom", "bom.de.txt", b"\xef\xbb\xbf" + BASES["txt"].encode(), OK)
    add("txt-utf16-bom", "utf16bom.de.txt", BASES["txt"].encode("utf-16"), OK)
    add("txt-crlf", "crlf.de.txt", BASES["txt"].replace("\n", "\r\n"), OK)
    add("txt-cut-mid-character", "cut.de.txt", "Grüße".encode()[:3], ERROR)

    # The real samples, damaged: cut in the middle of a multi-byte character, or re-encoded.
    for sample in sorted(SAMPLES.glob("sample.de.*")):
        data = sample.read_bytes()
        cut = next(index for index, byte in enumerate(data) if byte >= 0x80) + 1  # inside the first umlaut
        add(f"sample-{sample.suffix[1:]}-cut", f"sample-cut.de{sample.suffix}", data[:cut], ERROR)
        add(f"sample-{sample.suffix[1:]}-latin1", f"sample-latin1.de{sample.suffix}",
            data.decode().encode("latin-1", errors="replace"), ERROR)

    # HTML: entities it must never expand, nesting and unclosed constructs.
    # (The references sit in attributes, kept as they are, so the text is the cached "Hallo Welt.".)
    add("html-billion-laughs", "laughs.de.html", f'{BILLION_LAUGHS_DTD}\n<p title="&lol9;">{HELLO}</p>\n', OK)
    add("html-external-entity", "xxe.de.html", f'{EXTERNAL_ENTITY_DTD}\n<p title="&xxe;">{HELLO}</p>\n', OK)
    add("html-deep-nesting", "deep.de.html", "<div>" * 10_000 + f"<p>{HELLO}</p>" + "</div>" * 10_000 + "\n", OK)
    add("html-stray-end-tags", "stray.de.html", "<div>\n" * 10_000 + f"<p>{HELLO}</p>\n" + "</span>\n" * 10_000, OK)
    add("html-unclosed-comment", "comment.de.html", f"<p>{HELLO}</p>\n<!--\n" + "Kommentar ohne Ende.\n" * 50_000,
        ERROR)
    add("html-unclosed-script", "script.de.html", f"<p>{HELLO}</p>\n<script>\nvar a = 1;\n", ERROR)

    # Gettext: broken syntax, and a header that lies about the charset.
    add("po-syntax", "syntax.de.po", 'msgid "Hallo\nmsgstr ""\n', ERROR)
    add("po-lying-charset", "charset.de.po", BASES["po"].replace(HELLO, "Grüße").encode("latin-1"), ERROR)

    # Word documents: zip bombs, entity tricks, nesting, and files that are not zips at all.
    docx_data = _docx_bytes()
    add("docx-plain", "plain.de.docx", docx_data, OK)
    add("docx-empty", "empty.de.docx", b"", ERROR)
    add("docx-is-text", "text.de.docx", BASES["txt"], ERROR)
    add("docx-is-ole2", "ole.de.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), ERROR)  # .doc, encrypted
    add("docx-truncated", "truncated.de.docx", docx_data[: len(docx_data) // 2], ERROR)
    add("docx-tail-cut", "tailcut.de.docx", docx_data[:-10], ERROR)
    corrupt = bytearray(docx_data)
    member = zipfile.ZipFile(io.BytesIO(docx_data)).getinfo("word/document.xml")
    middle = member.header_offset + 30 + len(member.filename) + member.compress_size // 2
    corrupt[middle:middle + 8] = b"\xff" * 8
    add("docx-corrupt-member", "corrupt.de.docx", bytes(corrupt), ERROR)
    for name, edit, expected in (
        ("docx-billion-laughs", _with_dtd(BILLION_LAUGHS_DTD, "lol9"), ERROR),
        ("docx-external-entity", _with_dtd(EXTERNAL_ENTITY_DTD, "xxe"), ERROR),
        ("docx-deep-nesting", _deep_docx, None),
    ):
        path = folder / f"{name}.de.docx"
        _replace_document_xml(docx_data, path, edit)
        cases[name] = (path, expected)
    bomb = folder / "bomb.de.docx"
    _replace_document_xml(docx_data, bomb, _zip_bomb, compresslevel=1)
    cases["docx-zip-bomb"] = (bomb, ERROR)

    # Not a document at all: a folder named like one.
    folder_input = folder / "folder.de.txt"
    folder_input.mkdir()
    cases["folder-as-input"] = (folder_input, ERROR)
    return cases


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _run(path: Path, model: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(model), "--from", "de", "--to", "en",
         "--max-new-tokens", "12", "-q", str(path)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )


def test_fuzz_corpus_through_the_cli(tmp_path, default_gguf):
    folder = tmp_path / "corpus"
    folder.mkdir()
    cases = build_corpus(folder)
    assert len(cases) >= 40
    before = {name: _digest(path) for name, (path, _) in cases.items()}
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Fill the translation cache once, so every case that translates is a cache hit afterwards.
    warm = _run(cases["txt-plain"][0], default_gguf, data_dir)
    assert warm.returncode == 0, warm.stderr
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(cases, pool.map(lambda case: _run(case[0], default_gguf, data_dir), cases.values()),
                           strict=True))

    problems = []
    outcomes = {OK: 0, ERROR: 0}
    for name, (path, expected) in cases.items():
        result = results[name]
        output = path.with_name(path.name.replace(".de.", ".en."))
        outcome = OK if result.returncode == 0 else ERROR
        if result.returncode not in (0, 2):
            problems.append(f"{name}: exit {result.returncode}: {result.stderr[-500:]}")
        elif "Traceback" in result.stderr:
            problems.append(f"{name}: a traceback: {result.stderr[-800:]}")
        elif expected is not None and outcome != expected:
            problems.append(f"{name}: {outcome}, expected {expected}: {result.stderr[-300:]}")
        elif outcome == ERROR and (str(path) not in result.stderr or "error:" not in result.stderr):
            problems.append(f"{name}: the error does not name the file: {result.stderr[-300:]!r}")
        elif outcome == ERROR and len(result.stderr.strip().splitlines()) != 1:
            problems.append(f"{name}: more than a one-line error: {result.stderr[-500:]!r}")
        elif outcome == OK and not output.is_file():
            problems.append(f"{name}: exit 0 but no {output.name}")
        elif outcome == ERROR and output.exists():
            problems.append(f"{name}: refused but {output.name} was written")
        if _digest(path) != before[name]:
            problems.append(f"{name}: the source changed")
        outcomes[outcome] += 1
    # Nothing but the sources and the translations: no .part or other temporary file anywhere.
    expected_names = {path.name for path, _ in cases.values()}
    expected_names |= {path.name.replace(".de.", ".en.") for name, (path, _) in cases.items()
                       if results[name].returncode == 0}
    leftovers = sorted(p.name for p in folder.iterdir())
    extra = sorted(set(leftovers) - expected_names)
    assert not extra, f"files left behind: {extra}"
    assert not list((folder / "folder.de.txt").iterdir())
    assert not problems, "\n".join(problems)
    # The translations are real: the well-formed inputs came out in English.
    assert "Hello" in (folder / "plain.en.txt").read_text()
    # Entities were neither expanded nor fetched: the references are in the output as they were.
    laughs = (folder / "laughs.en.html").read_text()
    assert 'title="&lol9;"' in laughs and "lollol" not in laughs.split("]>")[1]
    xxe = (folder / "xxe.en.html").read_text()
    assert 'title="&xxe;"' in xxe and "root:" not in xxe
    assert outcomes[OK] >= 10 and outcomes[ERROR] >= 30, outcomes


# --- training data (the Tune flow's reader) and model files -------------------------------------

TMX = ('<?xml version="1.0" encoding="UTF-8"?>\n{dtd}<tmx version="1.4">\n<header srclang="de"/>\n<body>\n<tu>\n'
       '<tuv xml:lang="de"><seg>Hallo {inner}Welt.</seg></tuv>\n<tuv xml:lang="en"><seg>Hello world.</seg></tuv>\n'
       '</tu>\n</body>\n</tmx>\n')


def test_training_data_readers_refuse_hostile_files(tmp_path):
    from desktop.models import tuning

    cases: dict[str, tuple[bytes | str, bool]] = {  # file name -> (content, readable)
        "ok.tmx": (TMX.format(dtd="", inner=""), True),
        "doctype.tmx": (TMX.format(dtd='<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n', inner=""), True),  # as CAT tools write
        "deep.tmx": (TMX.format(dtd="", inner="<ph>" * 10_000 + "</ph>" * 10_000), True),
        "laughs.tmx": (TMX.format(dtd=BILLION_LAUGHS_DTD + "\n", inner="&lol9;"), False),
        "xxe.tmx": (TMX.format(dtd=EXTERNAL_ENTITY_DTD + "\n", inner="&xxe;"), False),
        "truncated.tmx": (TMX.format(dtd="", inner="")[:150], False),
        "nul.tmx": (TMX.format(dtd="", inner="\x00"), False),
        "latin1.tmx": (TMX.format(dtd="", inner="Grüße ").encode("latin-1"), False),
        "huge.tmx": ("<" + "a" * 5_000_000, False),
        "empty.tmx": ("", False),
        "ok.jsonl": ('{"de": "Hallo", "en": "Hello"}\n', True),
        "latin1.jsonl": ('{"de": "Grüße", "en": "Hello"}\n'.encode("latin-1"), False),
        "nul.jsonl": ('{"de": "Hal\x00lo", "en": "Hello"}\n', False),
        "huge.jsonl": ('{"de": "' + "a" * 5_000_000 + '", "en": "x"}', False),
        "deep.jsonl": ("[" * 100_000 + "]" * 100_000 + "\n", False),
        "ok.tsv": ("de\ten\nHallo\tHello\n", True),
        "latin1.tsv": ("de\ten\nGrüße\tHello\n".encode("latin-1"), False),
        "utf16.tsv": ("de\ten\nHallo\tHello\n".encode("utf-16-le"), False),
        "bigfield.tsv": ("de\ten\n" + "a" * 500_000 + "\tHello\n", False),
        "wrong-languages.tsv": ("xx\tyy\nHallo\tHello\n", False),
        "ok.po": ('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Hello"\nmsgstr "Hallo"\n', True),
        "nul.po": ('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Hel\x00lo"\nmsgstr "Hallo"\n', False),
        "binary.po": (bytes(range(256)) * 16, False),
    }
    problems = []
    for name, (content, readable) in cases.items():
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        before = path.read_bytes()
        try:
            pairs = tuning.detect_pairs(path)
        except ValueError as exc:  # what the Tune view shows in its dialog (TuningError, DataFormatError)
            if readable:
                problems.append(f"{name}: refused: {exc}")
            elif name not in str(exc):
                problems.append(f"{name}: the error does not name the file: {exc}")
        else:
            if not readable:
                problems.append(f"{name}: read as {pairs}")
        if path.read_bytes() != before:
            problems.append(f"{name}: the source changed")
    assert not problems, "\n".join(problems)


def _gguf_with_nested_arrays(depth: int) -> bytes:
    import struct

    key = b"general.nested"
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
    return data + struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 4, 0)


def test_hostile_model_files_exit_2_naming_the_file(tmp_path, default_hf_dir):
    import struct

    ggufs = {
        "nested.gguf": _gguf_with_nested_arrays(5_000),  # was a RecursionError in the header reader
        "text.gguf": "Hallo Welt.\n".encode("utf-16"),
        "empty.gguf": b"",
        "huge-string.gguf": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 31) + b"abc",
    }
    big_header = b'{"w": {"dtype": "F32", "shape": [1000000000, 1000000000], "data_offsets": [0, 4]}}'
    checkpoints = {  # folder -> {file: content}: the real export's config and tokenizer, broken weights
        "garbage": {"model.safetensors": b"Hallo Welt\n" * 100},
        "truncated": {"model.safetensors": (default_hf_dir / "model.safetensors").open("rb").read(200_000)},
        "header-length": {"model.safetensors": struct.pack("<Q", 1 << 40) + b"{}"},
        "overflowing-shape": {"model.safetensors": struct.pack("<Q", len(big_header)) + big_header + b"\0" * 4},
        "index-not-a-map": {"model.safetensors.index.json": '{"weight_map": ["w"]}'},
        "index-outside-paths": {"model.safetensors.index.json": '{"weight_map": {"w": "/etc/passwd"}}'},
    }
    env = {**os.environ, "ALMA_LOCAL_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    runs = []
    for name, content in ggufs.items():
        path = tmp_path / name
        path.write_bytes(content)
        runs.append((path, [sys.executable, "-m", "desktop.cli", "-m", str(path), "--from", "de", "--to", "en"]))
    for name, files in checkpoints.items():
        folder = tmp_path / name
        folder.mkdir()
        for item in default_hf_dir.iterdir():
            if not item.name.startswith("model.safetensors"):
                (folder / item.name).symlink_to(item)
        for file, content in files.items():
            (folder / file).write_bytes(content.encode() if isinstance(content, str) else content)
        runs.append((folder, [sys.executable, "-m", "convert.cli", str(folder), "-o", str(tmp_path / f"{name}.gguf")]))

    def run(item):
        path, command = item
        return path, subprocess.run(command, input="Hallo Welt.\n", capture_output=True, text=True, env=env,
                                    cwd=ROOT, timeout=300)

    problems = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, result in pool.map(run, runs):
            if result.returncode != 2 or "Traceback" in result.stderr or path.name not in result.stderr:
                problems.append(f"{path.name}: exit {result.returncode}: {result.stderr[-600:]}")
    assert not problems, "\n".join(problems)
    assert not list(tmp_path.glob("*.gguf.*")) and not list(tmp_path.glob(".*"))  # no temporary output left
