"""An XLIFF translation is the source's own bytes with only the targets (and the marks that go with them)
changed: the XML declaration as written (standalone, quotes, encoding name), the BOM, UTF-16 big or little
endian, CRLF line endings and the final newline (or its absence) kept. Real files (tests/data/xliff) and
variants of them made here (CRLF, UTF-16), through DocumentJob with the real fast model.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from lxml import etree

from desktop.documents import DocumentJob, JobOptions
from desktop.engine import TranslationEngine

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "xliff"
STRICT = etree.XMLSchema(etree.parse(str(DATA / "schema" / "xliff-core-1.2-strict.xsd")))


@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=8, cache=False)
    yield engine
    engine.close()


def without_changes(text: str) -> str:
    """The text with what a translation may change cut out: targets (with the whitespace before them),
    2.0 notes, the state and language attributes the translation adds."""
    text = re.sub(r"\s*<target\b[^>]*?(/>|>.*?</target>)", "", text, flags=re.S)
    text = re.sub(r"\s*<notes>.*?</notes>", "", text, flags=re.S)
    return re.sub(r' (state="initial"|target-language="[^"]*")', "", text)


def translated(source: Path, engine, src: str, tgt: str) -> bytes:
    output = DocumentJob(source, JobOptions(src, tgt)).run(engine)
    return output.read_bytes()


def test_standalone_declaration_and_no_final_newline_are_kept(tmp_path, engine):
    source = tmp_path / "test1.xlf"
    original = (DATA / "okapi" / "xiniPack-test1.xlf").read_bytes()
    source.write_bytes(original)
    output = translated(source, engine, "en", "de")
    declaration = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    assert original.startswith(declaration) and output.startswith(declaration)
    assert not original.endswith(b"\n") and output.endswith(b"</xliff>")
    # the missing target-language added to the <file> start tag as it is written, nothing else in it changed
    assert b'<file datatype="plaintext" source-language="en-US" original="path" target-language="de">' in output
    assert without_changes(output.decode()) == without_changes(original.decode())
    assert output.count(b"<target ") == 19


VARIANTS = {
    # name: (how the variant is made from the UTF-8 (BOM) source text, the codec its bytes are read with)
    "crlf": (lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"), "utf-8-sig"),
    "utf-16-be-crlf": (lambda text: codecs.BOM_UTF16_BE + text.replace('encoding="utf-8"', 'encoding="UTF-16"')
                       .replace("\n", "\r\n").encode("utf-16-be"), "utf-16"),
    "utf-16-le": (lambda text: codecs.BOM_UTF16_LE + text.replace('encoding="utf-8"', 'encoding="UTF-16"')
                  .encode("utf-16-le"), "utf-16"),
    "single-quoted-no-final-newline": (
        lambda text: text.replace('<?xml version="1.0" encoding="utf-8"?>',
                                  "<?xml version='1.0' encoding='utf-8' standalone='yes'?>").rstrip("\n").encode(),
        "utf-8"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_encoding_bom_line_endings_and_declaration_are_kept(tmp_path, engine, variant):
    make, codec = VARIANTS[variant]
    original = make((DATA / "okapi" / "qualitycheck-Test01.xlf").read_text(encoding="utf-8-sig"))
    source = tmp_path / "Test01.xlf"
    source.write_bytes(original)
    assert STRICT.validate(etree.parse(str(source))), STRICT.error_log
    output = translated(source, engine, "en", "fr")
    assert output[:4] == original[:4]  # the BOM (or none) and the first character in the same encoding
    text, before = output.decode(codec), original.decode(codec)
    assert text.splitlines()[0] == before.splitlines()[0]  # the declaration as written
    assert text.endswith("</xliff>" + ("\n" if before.endswith("\n") else ""))
    if "crlf" in variant:
        assert re.search(r"(?<!\r)\n", text) is None, "a bare LF in a CRLF file"
    assert text.count("<target ") == before.count("<target ") + 2  # units 1 and 2 got targets
    assert without_changes(text) == without_changes(before)
    assert STRICT.validate(etree.parse(str(source.with_name("Test01.fr.xlf")))), STRICT.error_log


def test_xliff20_keeps_its_bytes_outside_targets_and_notes(tmp_path, engine):
    original = (DATA / "app.de.xlf").read_bytes().replace(b"\n", b"\r\n")
    source = tmp_path / "app.de.xlf"
    source.write_bytes(original)
    output = translated(source, engine, "de", "en")
    assert output.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n') and output.endswith(b"</xliff>\r\n")
    assert re.search(rb"(?<!\r)\n", output) is None
    assert output.count(b"<target>") == original.count(b"<target>") + 6
    assert without_changes(output.decode()) == without_changes(original.decode())


def edited(xml: bytes, change) -> bytes:
    """`xml` parsed, changed by change(root, edits), and spliced back."""
    from desktop.documents.xml_splice import Edits

    tree = etree.ElementTree(etree.fromstring(xml))
    edits = Edits(tree)
    change(tree.getroot(), edits)
    return edits.spliced(xml)


def test_attribute_edits_keep_the_start_tag_as_written():
    xml = b"<?xml version='1.0'?>\n<a  x='1'   y = \"2\" ><b/></a>"

    def change(root, edits):
        edits.attributes(root)
        root.set("x", "it's")  # a changed value keeps its quotes (and escapes them)
        del root.attrib["y"]
        root.set("z", 'a "b" & <c>')

    assert edited(xml, change) == b"<?xml version='1.0'?>\n<a  x='it&apos;s' z=\"a &quot;b&quot; &amp; &lt;c>\" ><b/></a>"


def test_insertions_into_an_empty_element_and_after_a_comment_write_the_parent():
    xml = b'<a>\n  <b/>\n  <c><!-- note --></c>\n</a>\n'

    def change(root, edits):
        for parent in root:
            child = etree.SubElement(parent, "new")
            child.text = "x"
            edits.inserted(child)

    assert edited(xml, change) == b'<a>\n  <b><new>x</new></b>\n  <c><!-- note --><new>x</new></c>\n</a>\n'


def test_utf16_without_a_byte_order_mark_is_not_spliced():
    from desktop.documents.xml_splice import Edits, SpliceError

    xml = '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16-le")
    tree = etree.ElementTree(etree.fromstring(xml))
    with pytest.raises(SpliceError, match="without a byte order mark"):
        Edits(tree).spliced(xml)
