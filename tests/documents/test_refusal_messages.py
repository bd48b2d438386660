"""Why a document has nothing to translate, said truly (DocumentJob with the real fast model).

An office file whose only text is where its format does not translate (a workbook's cell comment, made
by openpyxl) names that part instead of calling itself empty; a really empty one is still "empty or has
no text"; an XLIFF 1.2 file whose units are all translated or locked says how many of each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from desktop.documents import DocumentError, DocumentJob, JobOptions
from desktop.engine import TranslationEngine

XLIFF_SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "xliff"


@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False)
    yield engine
    engine.close()


def refusal(source: Path, engine: TranslationEngine, overwrite: bool = False) -> str:
    job = DocumentJob(source, JobOptions("de", "en", overwrite=overwrite))
    assert job.count() == 0
    with pytest.raises(DocumentError) as caught:
        job.run(engine)
    assert not job.output_path.exists()
    return str(caught.value)


def test_a_workbook_with_text_only_in_a_comment_names_the_comment(tmp_path, engine):
    import openpyxl
    from openpyxl.comments import Comment

    book = openpyxl.Workbook()
    book.active["A1"] = 1250
    book.active["A1"].comment = Comment("Bitte den Betrag prüfen.", "Anna")
    source = tmp_path / "betrag.de.xlsx"
    book.save(source)
    assert refusal(source, engine) == (
        f"{source}: nothing to translate: its only text is in xl/comments/comment1.xml, which is not "
        "translated in .xlsx files (docs/translate.md lists what is)")


def test_an_empty_word_document_is_still_empty(tmp_path, engine):
    import docx

    source = tmp_path / "leer.de.docx"
    docx.Document().save(source)
    assert refusal(source, engine) == f"{source}: nothing to translate (the document is empty or has no text)"


def test_an_xliff_with_translated_and_locked_units_counts_both(tmp_path, engine):
    text = (XLIFF_SAMPLES / "manual.de.xlf").read_text(encoding="utf-8")
    source = tmp_path / "manual.de.xlf"
    source.write_text(text, encoding="utf-8")
    ns = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
    tree = etree.parse(str(source))
    filled = 0
    for unit in tree.getroot().iterfind(".//x:trans-unit", ns):
        if unit.get("translate") == "no":
            continue
        target = unit.find("x:target", ns)
        if target is None:
            target = etree.SubElement(unit, f"{{{ns['x']}}}target")
        if not "".join(target.itertext()).strip():
            target.text = "Translated by a person."
            filled += 1
    tree.write(str(source), xml_declaration=True, encoding="UTF-8")
    assert filled >= 5
    assert refusal(source, engine) == (
        f"{source}: {filled + 1} units are translated already (use --overwrite to translate them again); "
        'the other 1 unit is marked translate="no"')


def test_an_xliff_whose_only_unit_is_locked(tmp_path, engine):
    source = tmp_path / "locked.de.xlf"
    shutil.copyfile(XLIFF_SAMPLES / "manual.de.xlf", source)
    ns = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
    tree = etree.parse(str(source))
    for unit in tree.getroot().iterfind(".//x:trans-unit", ns):
        if unit.get("translate") != "no":
            unit.getparent().remove(unit)
    tree.write(str(source), xml_declaration=True, encoding="UTF-8")
    assert refusal(source, engine) == f'{source}: nothing to translate: 1 unit is marked translate="no"'
