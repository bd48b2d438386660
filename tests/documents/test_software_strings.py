"""Software strings in .po and XLIFF: placeholders, ICU plural/select messages, accelerators and shortcuts kept exact
(desktop/documents/placeholders.py, icu_message.py; docs/translate.md, "Software strings").

The syntax logic is tested with deterministic translators that keep, drop, repeat or move placeholders as a model
does; real corpus files and hand-made catalogs then go through the DocumentJob with the real fast model, checked by
an independent ICU parser (pyicumessageformat) and the corpus benchmark's placeholder check.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from pathlib import Path

import polib
import pytest
from lxml import etree
from pyicumessageformat import Parser

from benchmarks.real_files import CORPUS, icu_shape, software_problems
from desktop.documents import icu_message
from desktop.documents.base import Translatable
from desktop.documents.inline_markup import TaggedText, escape_text, strip_tags, translate_tagged
from desktop.documents.job import DocumentJob, JobOptions
from desktop.documents.placeholders import software_pieces, written
from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

NS12 = {"x": "urn:oasis:names:tc:xliff:document:1.2"}


def translated(text: str, model, ui: bool = False, lines: bool = False) -> str:
    """`text` through software_pieces and translate_tagged with `model` (str -> str) as the model."""
    def translate(segment: str) -> str:
        if isinstance(segment, TaggedText):
            return translate_tagged(segment, model, segment.names, literals=segment.literals).text
        return model(segment)

    return strip_tags(written(software_pieces(escape_text(text), ui=ui, lines=lines), translate))


def model_inputs(text: str, ui: bool = False, lines: bool = False) -> list[str]:
    """What the model is asked, in order, when it answers with its input."""
    asked: list[str] = []

    def echo(segment: str) -> str:
        asked.append(segment)
        return segment

    translated(text, echo, ui, lines)
    return asked


# -- ICU MessageFormat ---------------------------------------------------------------------------------------

ICU_MESSAGES = [
    "You have {count, plural, =0 {no messages} one {# message} other {# messages}}.",
    "{count, plural, offset:1 =0 {nobody} =1 {{host}} other {{host} and # others}}",
    "{gender, select, female {She has {n, plural, one {# cat} other {# cats}}} other {They have {n, number} cats}}",
    "{n, selectordinal, one {#st} two {#nd} few {#rd} other {#th}} place",
    "It''s '{'literal'}' {n, plural, one {# day's} other {# '#' days}}",
    "{VAR_PLURAL, plural, =0 {just now} =1 {one minute ago} other {<1/> minutes ago} }",
]


@pytest.mark.parametrize("message", ICU_MESSAGES)
def test_an_icu_message_is_read_as_icu_reads_it_and_written_back_unchanged(message: str) -> None:
    tree = icu_message.parse(message)
    assert tree.raw == message
    assert tree.branching()
    Parser().parse(message)  # the reference parser accepts it too


@pytest.mark.parametrize("message", [
    "{count, plural, one {# item} other {# items}",  # not closed
    "{count, plural, one {# item}}",  # no other
    "{count, plural, one {# item} one {# items} other {x}}",  # a selector twice
    "{count, plural one {# item} other {# items}}",  # no comma
    "{count, plural, other {it's '{ open}}",  # a quote that never ends
])
def test_a_malformed_icu_message_is_an_icu_syntax_error_and_is_translated_as_text_without_raising(message):
    with pytest.raises(icu_message.IcuSyntaxError):
        icu_message.parse(message)
    assert len(model_inputs(message)) == 1  # one sentence, its braces protected
    assert translated(message, lambda text: text) == message


def test_each_icu_branch_is_translated_on_its_own_with_hash_and_arguments_protected() -> None:
    message = "{count, plural, offset:1 =0 {nobody} =1 {{host}} other {{host} and # others}}"
    assert model_inputs(message) == ["nobody", "{host} and # others"]
    german = {"nobody": "niemand", "{host} and # others": "{host} und # andere"}
    result = translated(message, german.__getitem__)
    assert result == "{count, plural, offset:1 =0 {niemand} =1 {{host}} other {{host} und # andere}}"
    assert icu_shape(result) == icu_shape(message)


def test_icu_quoting_is_kept_and_applied_to_the_translation() -> None:
    message = "It''s '{'literal'}' {n, plural, one {# day's} other {# '#' days}}"
    assert model_inputs(message) == ["It's {literal}", "# day's", "# '#' days"]
    french = {"It's {literal}": "C'est {literal}", "# day's": "# jour d'{x}", "# '#' days": "# '#' jours { x }"}
    result = translated(message, french.__getitem__)
    # Braces the model wrote quoted, an apostrophe before the branch's end doubled, a placeholder it made up
    # dropped: the reference parser reads it the same.
    assert result == "C'est '{'literal'}' {n, plural, one {# jour d''} other {# '#' jours '{' x '}'}}"
    assert icu_shape(result) == icu_shape(message)


def test_a_model_that_drops_or_repeats_a_branch_placeholder_cannot_break_the_message() -> None:
    message = "{count, plural, one {# file of {owner}} other {# files of {owner}}}"
    broken = {"# file of {owner}": "Datei", "# files of {owner}": "# # Dateien {owner} {owner}",
              "Datei": "Datei", "# # Dateien {owner} {owner}": "# # Dateien {owner} {owner}"}
    result = translated(message, lambda text: broken.get(text, text))
    assert icu_shape(result) == icu_shape(message)
    one, other = re.findall(r"\{([^{}]*(?:\{owner\}[^{}]*)*)\}", result.split("plural, ", 1)[1])[:2]
    assert Counter(re.findall(r"#|\{owner\}", one)) == Counter({"#": 1, "{owner}": 1})
    assert Counter(re.findall(r"#|\{owner\}", other)) == Counter({"#": 1, "{owner}": 1})


# -- placeholders, accelerators, shortcuts --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kept"), [
    ("Delete %d files from %s?", ["%d", "%s"]),
    ("%(count)s of %(total)s items, 100%% done", ["%(count)s", "%(total)s", "%%"]),
    ("Followed by %2$@, %3$@ & %1$d others", ["%2$@", "%3$@", "%1$d"]),
    ("Hello {0}, you have {count} new {1:N2} {{ items }}", ["{0}", "{count}", "{1:N2}", "{{ items }}"]),
    ("Downloaded $size to ${folder} at %04x", ["$size", "${folder}", "%04x"]),
    ("Stage $stage <!--#slurp#--> done", ["$stage", "<!--#slurp#-->"]),
    ("Click <b>Save</b> or <a href=\"x\">here</a>&nbsp;now", ["<b>", "</b>", '<a href="x">', "</a>", "&nbsp;"]),
    # Drupal's placeholders (Test_DrupalRussianCP1251.po): whole words, not printf's %n, %he, %ta and some letters
    ("Session opened for %name, see <a href=\"%url\">%handbook</a> and %help_pages",
     ["%name", '<a href="%url">', "%handbook", "</a>", "%help_pages"]),
])
def test_placeholders_come_back_exactly_as_often_whatever_the_model_does(text: str, kept: list[str]) -> None:
    wanted = Counter({item: text.count(item) for item in kept})

    def drops_the_first(segment: str) -> str:  # loses one placeholder and writes another twice
        found = re.findall(r"%\S+|\{\S+\}|\$\S+|<[^<>]+>|&\w+;", segment)
        if len(found) > 1:
            segment = segment.replace(found[0], "", 1) + " " + found[1]
        return segment.upper().replace(found[0].upper(), found[0]) if found else segment.upper()

    for model in (lambda segment: segment, str.upper, drops_the_first, lambda segment: segment[::-1]):
        result = translated(text, model)
        assert Counter({item: result.count(item) for item in kept}) == wanted, (text, result)


def test_a_placeholder_the_model_mangled_is_put_back_in_place_of_its_remnant() -> None:
    mangled = {"%(event_name)s of %(family)s": "(event_name)s von (family)s",
               "Hello {name}, $count jobs": "Hallo { name }, $counts Aufträge"}
    assert translated("%(event_name)s of %(family)s", mangled.__getitem__) == "%(event_name)s von %(family)s"
    assert translated("Hello {name}, $count jobs", mangled.__getitem__) == "Hallo {name}, $count Aufträge"


def test_a_placeholder_the_model_made_up_is_dropped() -> None:
    assert translated("Delete the file?", lambda _: "Datei %s löschen?") == "Datei löschen?"
    assert translated("Delete %d files?", lambda _: "%d Dateien {0} löschen?") == "%d Dateien löschen?"
    assert translated("Tom &amp; Jerry", lambda text: text + " &nbsp;") == "Tom &amp; Jerry &nbsp;"


def test_the_model_sees_the_whole_sentence_with_its_placeholders_as_they_are() -> None:
    assert model_inputs("Delete %d files from %s?") == ["Delete %d files from %s?"]
    assert model_inputs("%(count)s items in {folder}") == ["%(count)s items in {folder}"]
    # A directive a model would rewrite is shown as an element; a line break ends a sentence in catalogs.
    assert model_inputs("Hi $name,\nStage $stage <!--#slurp#--> done", lines=True) == \
        ["Hi $name,", "Stage $stage <br/> done"]


@pytest.mark.parametrize(("source", "translation", "expected"), [
    ("&File", "Datei", "&Datei"),  # no F in the translation: the first letter
    ("&Save", "Speichern", "&Speichern"),  # the same letter
    ("Save &As...", "Speichern unter...", "&Speichern unter..."),
    ("E&xit", "Beenden", "&Beenden"),
    ("Find &Next", "Weitersuchen nächste", "Weitersuchen &nächste"),  # the letter that starts a word first
    ("Fish && &Chips", "Fisch & Pommes", "Fis&ch && Pommes"),  # the same letter inside a word before none
    ("Black && white", "Schwarz & weiß", "Schwarz && weiß"),
])
def test_an_accelerator_keeps_one_ampersand_and_a_double_ampersand_stays_literal(source, translation, expected):
    shown = model_inputs(source, ui=True)
    assert "&" not in shown[0].replace(" & ", "")  # the model sees the words without the accelerator syntax
    assert translated(source, lambda _: translation, ui=True) == expected


def test_ampersands_of_prose_and_of_strings_not_marked_as_ui_are_left_alone() -> None:
    assert model_inputs("Tom & Jerry", ui=True) == ["Tom & Jerry"]
    assert translated("Tom & Jerry", lambda text: text.replace("Tom", "Thomas"), ui=True) == "Thomas & Jerry"
    assert model_inputs("Rock &Roll", ui=False) == ["Rock &Roll"]


@pytest.mark.parametrize(("source", "ui", "suffix"), [
    ("&New\tCtrl+N", True, "\tCtrl+N"),
    ("De&lete\tDel", True, "\tDel"),
    ("Undo\tCtrl+Shift+Z", False, "\tCtrl+Shift+Z"),
    ("Find Next\tF3", False, "\tF3"),
])
def test_a_shortcut_after_a_tab_is_kept_verbatim(source: str, ui: bool, suffix: str) -> None:
    pieces = software_pieces(escape_text(source), ui=ui)
    assert pieces[-1] == suffix
    assert all(isinstance(piece, str) or "\t" not in piece.text for piece in pieces)
    result = translated(source, lambda text: "Übersetzt " + text, ui=ui)
    assert result.endswith(suffix) and result.count("\t") == 1


def test_a_line_mark_and_empty_lines_of_a_catalog_string_are_kept() -> None:
    text = "##\n## Default template\n\n- first item\n# of files: $count\n"
    pieces = software_pieces(escape_text(text), lines=True)
    assert [piece.text for piece in pieces if isinstance(piece, Translatable)] == \
        ["Default template", "first item", TaggedText("# of files: <1/>")]
    assert translated(text, str.upper, lines=True) == "##\n## DEFAULT TEMPLATE\n\n- FIRST ITEM\n# OF FILES: $count\n"


def test_hostile_software_strings_never_raise_and_are_read_in_linear_time() -> None:
    deep = "{a, select, other {" * 200 + "x" + "}}" * 200  # nested past any real message: malformed
    with pytest.raises(icu_message.IcuSyntaxError):
        icu_message.parse(deep)
    assert translated(deep, lambda text: text) == deep
    started = time.monotonic()
    for hostile in ("<!--" * 40_000, "{a:" * 40_000, "%(" * 40_000, "<a " * 40_000, "{{" * 40_000, "&" * 80_000):
        software_pieces(escape_text(hostile + " text"), ui=True, lines=True)
    assert time.monotonic() - started < 10


# -- real files, the real fast model ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("software-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=16, cache=cache)


def run_job(source: Path, engine: TranslationEngine, src: str = "en", tgt: str = "de") -> Path:
    return DocumentJob(source, JobOptions(src, tgt)).run(engine)


_ACCELERATOR = re.compile(r"&(?=[^\W_])")


def accelerators(text: str) -> int:
    return len(_ACCELERATOR.findall(text.replace("&&", "")))


@pytest.mark.slow
def test_a_windows_resource_xliff_keeps_placeholders_accelerators_and_shortcuts(engine, tmp_path: Path) -> None:
    """PAS-10-Test01.xlf, Notepad's resources exported by Passolo: &File menus, TAB + Ctrl+N shortcuts, %% ."""
    source = Path(shutil.copyfile(CORPUS / "xliff-software" / "PAS-10-Test01.xlf", tmp_path / "notepad.xlf"))
    root = etree.parse(str(run_job(source, engine))).getroot()
    checked = 0
    for unit in root.iter("trans-unit"):
        src, target = unit.find("source"), unit.find("target")
        text = "".join(src.itertext())
        if not any(ch.isalpha() for ch in text):
            continue
        translation = "".join(target.itertext())
        assert software_problems(text, translation) == [], (text, translation)
        assert accelerators(translation) == accelerators(text), (text, translation)
        if "\t" in text:
            assert translation.endswith(text[text.index("\t"):]), (text, translation)
        checked += 1
    assert checked > 100


@pytest.mark.slow
def test_xcode_and_memsource_xliff_keep_their_placeholders_and_a_prose_ampersand(engine, tmp_path: Path) -> None:
    """The corpus's Xcode export (%d, %1$@, %#@OTHERS@, "&" in a sentence; not a UI resource) and Memsource
    XLIFF 2.0, translated again (--overwrite); Xcode's third <file> says target-language="en", made "it" here."""
    xcode = tmp_path / "xcode.xliff"
    xcode.write_text((CORPUS / "xliff-software" / "xcode.xliff").read_text(encoding="utf-8")
                     .replace('target-language="en"', 'target-language="it"'), encoding="utf-8")
    memsource = Path(shutil.copyfile(CORPUS / "xliff-software" / "uber-counts.xliff", tmp_path / "uber.xliff"))
    for source, src, tgt in ((xcode, "en", "it"), (memsource, "en", "zh")):
        before = etree.parse(str(source)).getroot()
        output = DocumentJob(source, JobOptions(src, tgt, overwrite=True)).run(engine)
        after = etree.parse(str(output)).getroot()
        namespace = before.nsmap[None]
        sources = ["".join(e.itertext()) for e in before.iter(f"{{{namespace}}}source")]
        targets = ["".join(e.itertext()) for e in after.iter(f"{{{namespace}}}target")]
        assert len(sources) == len(targets)
        for text, translation in zip(sources, targets, strict=True):
            if any(ch.isalpha() for ch in text):
                assert software_problems(text, translation) == [], (text, translation)
                assert "&&" not in translation


@pytest.mark.slow
def test_icu_messages_in_xliff_are_translated_branch_by_branch_with_their_syntax_and_codes(engine, tmp_path):
    """The corpus's Angular XLIFF 2.0 (an ICU plural as a source) and Angular's 1.2 shape with an <x/> code
    inside a branch, its targets removed."""
    angular2 = Path(shutil.copyfile(CORPUS / "xliff-software" / "example_angular.xliff", tmp_path / "a2.xliff"))
    one_two = (CORPUS / "xliff-software" / "angular.xliff").read_text(encoding="utf-8")
    one_two = re.sub(r"\s*<target>.*?</target>", "", one_two, flags=re.DOTALL)
    angular12 = tmp_path / "a12.xliff"
    angular12.write_text(one_two.replace('target-language="fi"', 'target-language="de"'), encoding="utf-8")
    for source, namespace in ((angular2, "urn:oasis:names:tc:xliff:document:2.0"),
                              (angular12, "urn:oasis:names:tc:xliff:document:1.2")):
        root = etree.parse(str(run_job(source, engine))).getroot()
        pairs = [(s, t) for s, t in zip(root.iter(f"{{{namespace}}}source"), root.iter(f"{{{namespace}}}target"),
                                        strict=True)]
        icu = [(s, t) for s, t in pairs if "plural" in "".join(s.itertext())]
        assert icu
        for src, target in icu:
            text, translation = "".join(src.itertext()), "".join(target.itertext())
            assert icu_shape(translation) == icu_shape(text) not in (None, "unreadable"), translation
            assert [etree.QName(c).localname for c in target] == [etree.QName(c).localname for c in src]


CATALOG = r'''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#, c-format
msgid "Delete %d files from %s?"
msgstr ""

#, python-format
msgid "%(count)s of %(total)s items copied, 100%% done"
msgstr ""

msgctxt "menu"
msgid "&Open Recent\tCtrl+Shift+O"
msgstr ""

#, python-brace-format
msgid "Save && &close {name}"
msgstr ""

msgid "Tom & Jerry are watching"
msgstr ""

msgid "{count, plural, one {You have # new message from {sender}} other {You have # new messages}}"
msgstr ""

msgid "{count, plural, one {# item}"
msgstr ""

msgid ""
"## Template\n"
"Hi $name,\n"
"<!--#if $status #-->Your job $job is done.<!--#end if#-->\n"
msgstr ""
'''


@pytest.mark.slow
def test_a_catalog_keeps_placeholders_icu_accelerators_and_prose_ampersands(engine, tmp_path: Path) -> None:
    source = tmp_path / "app.pot"
    source.write_text(CATALOG, encoding="utf-8")
    catalog = polib.pofile(str(run_job(source, engine)))
    entries = {entry.msgid: entry.msgstr for entry in catalog}
    for msgid, msgstr in entries.items():
        assert msgstr, msgid
        assert software_problems(msgid, msgstr) == [], (msgid, msgstr)
    menu = entries["&Open Recent\tCtrl+Shift+O"]
    assert accelerators(menu) == 1 and menu.endswith("\tCtrl+Shift+O"), menu
    close = entries["Save && &close {name}"]
    assert accelerators(close) == 1 and close.replace("&&", "").count("&") == 1, close  # any other "&" doubled
    assert "&&" not in entries["Tom & Jerry are watching"]
    assert entries["{count, plural, one {# item}"].count("{") == 2  # malformed ICU: its braces kept
    assert icu_shape(entries[next(m for m in entries if m.startswith("{count, plural, one {You"))]) == \
        icu_shape(next(m for m in entries if m.startswith("{count, plural, one {You")))
    template = entries[next(m for m in entries if m.startswith("## Template"))]
    assert template.startswith("## ") and template.count("\n") == 3


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SABemail.pot", "SABnsis.pot", "wtforms.pot"])
def test_real_catalogs_keep_every_placeholder(engine, tmp_path: Path, name: str) -> None:
    source = Path(shutil.copyfile(CORPUS / "po" / name, tmp_path / name))
    for entry in polib.pofile(str(run_job(source, engine))):
        if entry.msgid and not entry.msgid_plural and any(ch.isalpha() for ch in entry.msgid):
            assert software_problems(entry.msgid, entry.msgstr) == [], (entry.msgid, entry.msgstr)
