"""The parallel-data sources: real catalogs of real installed packages, read and cleaned."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

import pytest

from alma_train.data.catalog_sources import (
    HELDOUT_TEST,
    HELDOUT_VALID,
    SOURCES,
    TRAIN,
    CatalogSource,
    SourceNotInstalledError,
    catalog_files,
    clean_pair,
    get_source,
    iter_catalog_pairs,
    placeholders,
    read_source_pairs,
    sources_with_role,
    strip_mnemonics,
)
from alma_train.data.demo_data import ALL_LANGUAGES, DEMO_LANGUAGES, collect_pairs

OS_LOCALE = Path("/usr/share/locale")


def test_registry_is_pinned_installed_and_has_two_whole_heldout_projects():
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    for source in SOURCES:
        assert source.licence and source.domain and source.locales
        assert set(source.locales) <= set(ALL_LANGUAGES), source.name
        for dist_name, requirement in zip(source.distribution_names(), source.requirements, strict=True):
            package, _, pinned = requirement.partition("==")
            assert pinned, f"{requirement} is not pinned with =="
            # The data counts in SOURCES.md hold for the pinned version: the installed one must be it.
            assert importlib.metadata.version(dist_name) == pinned, requirement
    (valid,), (test,) = sources_with_role(HELDOUT_VALID), sources_with_role(HELDOUT_TEST)
    assert valid.name != test.name
    for heldout in (valid, test):
        assert set(heldout.locales) == set(ALL_LANGUAGES), heldout.name
    assert {s.role for s in SOURCES} == {TRAIN, HELDOUT_VALID, HELDOUT_TEST}
    assert {code for s in sources_with_role(TRAIN) for code in s.locales} == set(ALL_LANGUAGES)


def test_catalogs_come_from_the_packages_never_from_the_os(demo_data):
    for source in SOURCES:
        for lang in source.languages:
            for path in catalog_files(source, lang):
                assert path.suffix in (".po", ".mo")
                assert not path.resolve().is_relative_to(OS_LOCALE), path
    # Gramps installs its catalogs as wheel data files (<prefix>/share/locale), found through its RECORD.
    (gramps_is,) = catalog_files(get_source("gramps"), "is")
    assert gramps_is.name == "gramps.mo" and gramps_is.parts[-4:-2] == ("locale", "is")
    # .po is preferred over its compiled twin: Thonny ships both, and each catalog is read once.
    thonny = catalog_files(get_source("thonny"), "is")
    assert [p.suffix for p in thonny] == [".po"]


def test_a_catalog_under_the_os_locale_folder_is_refused(tmp_path, monkeypatch):
    # A real installed distribution (a dist-info on sys.path) whose RECORD points at an OS catalog.
    target = next(OS_LOCALE.glob("de/LC_MESSAGES/*.mo"), None)
    if target is None:
        pytest.skip("no operating-system catalog for German on this machine")
    dist_info = tmp_path / "os_catalog_probe-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: os-catalog-probe\nVersion: 1.0\n")
    relative = Path(*[".."] * len(tmp_path.parts[1:])) / target.relative_to("/")
    (dist_info / "RECORD").write_text(f"{relative},,\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = CatalogSource(name="probe", requirements=("os-catalog-probe==1.0",), licence="-", domain="-",
                          locales={"de": ("de",)})
    with pytest.raises(RuntimeError, match="operating-system message catalog"):
        catalog_files(probe, "de")


def test_every_source_yields_pairs_for_each_of_its_languages(demo_data):
    import json

    rows = {row["name"]: row for row in json.loads((demo_data / "parallel" / "sources.json").read_text())}
    assert set(rows) == {s.name for s in SOURCES}
    for source in SOURCES:
        row = rows[source.name]
        assert row["licence"] == source.licence and row["role"] == source.role
        for lang in (code for code in source.languages if code in DEMO_LANGUAGES):  # what the fixture built
            counts = row["counts"][lang]
            if source.role == TRAIN:
                assert counts["train"] >= 30, (source.name, lang, counts)
            else:
                assert counts[source.role] >= 150, (source.name, lang, counts)


def test_cleaning_on_real_catalog_entries():
    deluge_de = dict(read_source_pairs(get_source("deluge"), "de"))
    # GTK mnemonics go, on both sides: "_Help" / "_Hilfe" -> "Help" / "Hilfe".
    assert deluge_de["Help"] == "Hilfe"
    assert not any(en.startswith("_") for en in deluge_de)
    gramps_zh = dict(read_source_pairs(get_source("gramps"), "zh"))
    assert "年" in gramps_zh["Year"] and "(_" not in gramps_zh["Year"]  # "年(_Y)" -> "年"
    django_de = dict(read_source_pairs(get_source("django"), "de"))
    # Placeholders and markup are carried as they are.
    with_names = [(en, de) for en, de in django_de.items() if "%(" in en]
    assert len(with_names) > 20
    assert all(sorted(set(placeholders(en))) == sorted(set(placeholders(de))) for en, de in with_names)
    # One line per segment; nothing identical to the English; nothing format-only.
    for pairs in (deluge_de, gramps_zh, django_de):
        for en, xx in pairs.items():
            assert "\n" not in en + xx and en != xx and len(en) <= 300


def test_clean_pair_rules():
    assert clean_pair("_Open", "Ö_ffnen", "de", mnemonics=True) == ("Open", "Öffnen")
    assert clean_pair("_Open", "打开(_O)", "zh", mnemonics=True) == ("Open", "打开")
    # An underscore inside a placeholder is not a mnemonic.
    assert strip_mnemonics("Delete %(user_name)s") == "Delete %(user_name)s"
    assert clean_pair("Hello <b>%(name)s</b>\n  again", "Hallo <b>%(name)s</b> wieder", "de") == (
        "Hello <b>%(name)s</b> again", "Hallo <b>%(name)s</b> wieder")
    assert clean_pair("%b %d, %Y", "%d.%m.%Y", "de") is None  # a format string, not text
    assert clean_pair("%(count)s files", "Dateien", "de") is None  # the translation lost a placeholder
    assert clean_pair("Filter", "Filter", "de") is None
    assert clean_pair("Delete", "Delete", "is") is None
    assert clean_pair("x" * 301, "y" * 301, "de") is None
    assert clean_pair("Save", "Speichern", "zh") is None  # not Chinese
    assert clean_pair("Save", "儲存", "zh") is None  # Traditional
    assert clean_pair("Save", "保存", "zh") == ("Save", "保存")
    assert clean_pair("Save", "Save it", "ru") is None  # not Russian
    # A translation without a letter of its language's script is not a translation (Django's "one" -> "1").
    assert clean_pair("one", "1", "ja") is None and clean_pair("one", "1", "ko") is None
    assert clean_pair("{}th", "{}", "ar") is None and clean_pair("Save", "Save it", "uk") is None
    assert clean_pair("This computer", "このコンピュータ", "ja") == ("This computer", "このコンピュータ")
    assert clean_pair("This computer", "이 컴퓨터", "ko") == ("This computer", "이 컴퓨터")
    assert clean_pair("A peer-to-peer file sharing program",
                      "Ein Peer-to-Peer-Programm A peer-to-peer file sharing program", "de") is None


def test_dedup_across_sources_credits_the_first():
    django, wagtail = get_source("django"), get_source("wagtail")
    first = set(read_source_pairs(django, "de"))
    second = set(read_source_pairs(wagtail, "de"))
    shared = first & second
    assert len(shared) > 10  # both ship Django-admin vocabulary
    merged = collect_pairs([django, wagtail], "de")
    assert len(merged) == len(first | second)
    assert len({(p.en, p.xx) for p in merged}) == len(merged)
    assert all(p.source == "django" for p in merged if (p.en, p.xx) in shared)


def test_missing_or_broken_package_gives_a_clear_error_naming_it():
    missing = CatalogSource(name="ghost", requirements=("alma-no-such-catalog-package==1.0",),
                            licence="-", domain="-", locales={"de": ("de",)}, no_deps=True)
    with pytest.raises(SourceNotInstalledError, match="alma-no-such-catalog-package==1.0") as info:
        read_source_pairs(missing, "de")
    assert "pip install --no-deps alma-no-such-catalog-package==1.0" in str(info.value)
    # Installed, but without catalogs for the promised locale.
    wrong = CatalogSource(name="pytest-as-catalog", requirements=(f"pytest=={importlib.metadata.version('pytest')}",),
                          licence="-", domain="-", locales={"de": ("de",)})
    with pytest.raises(SourceNotInstalledError, match="pytest"):
        catalog_files(wrong, "de")


def test_a_malformed_catalog_names_its_file(tmp_path):
    bad = tmp_path / "broken.po"
    bad.write_text('msgid "a"\nmsgstr "b"\nthis is not gettext\n', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.po"):
        list(iter_catalog_pairs(bad, "de"))
    bad_mo = tmp_path / "broken.mo"
    bad_mo.write_bytes(b"not a catalog" * 4)
    with pytest.raises(ValueError, match="broken.mo"):
        list(iter_catalog_pairs(bad_mo, "de"))


def test_no_training_code_reads_the_os_catalogs():
    """The OS message catalogs are the outside test set: the only path to them in alma_train's code
    (docstrings aside) is the guard in catalog_sources that refuses them."""
    root = Path(sys.modules["alma_train"].__file__).parent
    mentions = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and node.value.startswith("/usr/share/locale")):
                mentions.append((path.name, node.value))
    assert mentions == [("catalog_sources.py", "/usr/share/locale"),
                        ("catalog_sources.py", "/usr/share/locale-langpack")]
