"""gettext catalogs as projects make them, through the real alma-translate with the fast model.

The catalogs (tests/data/po, see its README) were made by xgettext, msginit and msgconv from Django's
source: a template (.pot, charset=CHARSET, a Plural-Forms placeholder), a catalog msginit declared ASCII
and its ISO-8859-1 copy. One sentence is served from the translation memory with Django's own German
translation ("Mehrere Objekte löschen"), so every run writes at least one character outside ASCII.
Checked: no crash on a charset that cannot hold the translation (UTF-8 written, the header says so), a
charset that can is kept, a template becomes name.<tgt>.po with its header filled as msginit would,
and a comment without a space after # (which msgfmt reads) is read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "tests" / "data" / "po"
REMEMBERED = "Delete multiple objects"


def run_cli(*args: str, data_dir: Path, model: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(model), "--max-new-tokens", "12", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )


def django_german(msgid: str) -> str:
    """Django's own German translation of one of its admin messages."""
    import django

    catalog = Path(django.__file__).parent / "contrib/admin/locale/de/LC_MESSAGES/django.po"
    return polib.pofile(str(catalog)).find(msgid).msgstr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A user data folder whose translation memory knows REMEMBERED in German and Russian."""
    from desktop.memory.store import TranslationMemory

    folder = tmp_path_factory.mktemp("po-data")
    memory = TranslationMemory(folder / "memory.sqlite")
    memory.add("en", "de", REMEMBERED, django_german(REMEMBERED))
    memory.add("en", "ru", REMEMBERED, "Удалить несколько объектов")
    memory.close()
    return folder


def filled(entry: polib.POEntry) -> bool:
    return bool(entry.msgstr) or bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())


def header_charset(path: Path) -> str:
    match = re.search(rb"charset=([^\\\s;\"]+)", path.read_bytes())
    assert match, path
    return match.group(1).decode("ascii")


def msgfmt_check(path: Path) -> None:
    """GNU msgfmt -c accepts the catalog, where msgfmt is installed (polib has read it in any case)."""
    if shutil.which("msgfmt"):
        result = subprocess.run(["msgfmt", "-c", "-o", os.devnull, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def german_run(tmp_path_factory, data_dir, default_gguf):
    """One alma-translate --from en --to de run over the three catalogs and one with #Comment lines."""
    folder = tmp_path_factory.mktemp("po")
    for name in ("django-admin.pot", "django-admin-ascii.po", "django-admin-latin1.po"):
        shutil.copyfile(CATALOGS / name, folder / name)
    # A hand-edited catalog: comments typed without the space after # (GNU msgfmt reads them).
    text = (CATALOGS / "django-admin-ascii.po").read_text(encoding="ascii")
    text = text.replace("#: django/contrib/admin/actions.py:64\n",
                        "#Reviewed by the admin team\n#: django/contrib/admin/actions.py:64\n")
    text = "#Hand-edited copy of the German catalog\n" + text
    (folder / "comments.po").write_text(text, encoding="ascii")
    names = ["django-admin.pot", "django-admin-ascii.po", "django-admin-latin1.po", "comments.po"]
    result = run_cli("--from", "en", "--to", "de", *(str(folder / name) for name in names),
                     data_dir=data_dir, model=default_gguf)
    return folder, result


def test_an_ascii_catalog_is_written_as_utf8_and_its_header_says_so(german_run):
    folder, result = german_run
    assert "Traceback" not in result.stderr and result.returncode == 0, result.stderr
    source, output = folder / "django-admin-ascii.po", folder / "django-admin-ascii.de.po"
    assert source.read_bytes() == (CATALOGS / "django-admin-ascii.po").read_bytes()
    assert header_charset(output) == "UTF-8"
    catalog = polib.pofile(str(output))
    assert catalog.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert catalog.find(REMEMBERED).msgstr == "Mehrere Objekte löschen"
    assert all(filled(entry) for entry in catalog)
    msgfmt_check(output)


def test_a_charset_that_holds_the_translation_is_kept(german_run):
    folder, result = german_run
    assert result.returncode == 0, result.stderr
    output = folder / "django-admin-latin1.de.po"
    catalog = polib.pofile(str(output))
    assert catalog.find(REMEMBERED).msgstr == "Mehrere Objekte löschen"
    translations = [entry.msgstr for entry in catalog] + \
        [text for entry in catalog for text in entry.msgstr_plural.values()]
    try:
        "".join(translations).encode("iso-8859-1")
    except UnicodeEncodeError:  # the model wrote something Latin-1 lacks: then UTF-8, said in the header
        expected = "UTF-8"
    else:
        expected = "ISO-8859-1"
    assert header_charset(output) == expected
    output.read_bytes().decode(expected)
    assert "löschen".encode(expected) in output.read_bytes()
    msgfmt_check(output)


def test_a_template_becomes_a_catalog_of_the_target_language(german_run):
    folder, result = german_run
    assert result.returncode == 0, result.stderr
    output = folder / "django-admin.de.po"
    assert f"{folder / 'django-admin.pot'} -> {output}" in result.stderr
    assert not (folder / "django-admin.de.pot").exists()
    catalog = polib.pofile(str(output))
    assert catalog.metadata["Language"] == "de"
    assert catalog.metadata["Content-Type"] == "text/plain; charset=UTF-8"  # was charset=CHARSET
    assert catalog.metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    template = polib.pofile(str(folder / "django-admin.pot"))
    assert [entry.msgid for entry in catalog] == [entry.msgid for entry in template]
    for entry in catalog:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == [0, 1] and all(entry.msgstr_plural.values()), entry.msgid
        else:
            assert entry.msgstr, entry.msgid
        assert "fuzzy" in entry.flags
        for placeholder in re.findall(r"%\(\w+\)[sd]", entry.msgid):
            assert placeholder in (entry.msgstr or entry.msgstr_plural[0])
    msgfmt_check(output)


def test_comments_without_a_space_are_read_and_kept(german_run):
    folder, result = german_run
    assert result.returncode == 0, result.stderr
    catalog = polib.pofile(str(folder / "comments.de.po"))
    assert catalog.find(REMEMBERED).tcomment == "Reviewed by the admin team"
    assert catalog.find(REMEMBERED).occurrences == [("django/contrib/admin/actions.py", "64")]
    assert "Hand-edited copy of the German catalog" in catalog.header
    assert all(filled(entry) for entry in catalog)
    msgfmt_check(folder / "comments.de.po")


def test_a_template_for_a_language_with_three_plural_forms(tmp_path, data_dir, default_gguf):
    template = tmp_path / "django-admin.pot"
    shutil.copyfile(CATALOGS / "django-admin.pot", template)
    result = run_cli("--from", "en", "--to", "ru", str(template), data_dir=data_dir, model=default_gguf)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "django-admin.ru.po"
    catalog = polib.pofile(str(output))
    assert catalog.metadata["Language"] == "ru"
    assert catalog.metadata["Plural-Forms"].startswith("nplurals=3; plural=")
    assert catalog.find(REMEMBERED).msgstr == "Удалить несколько объектов"
    plurals = [entry for entry in catalog if entry.msgid_plural]
    assert plurals
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == [0, 1, 2] and all(entry.msgstr_plural.values()), entry.msgid
    msgfmt_check(output)


def test_a_fully_translated_catalog_says_so_and_overwrite_translates_it_again(tmp_path, data_dir, default_gguf):
    import django

    # Five messages of Django's German catalog, all translated by Django's translators.
    full = polib.pofile(str(Path(django.__file__).parent / "conf/locale/de/LC_MESSAGES/django.po"))
    catalog = polib.POFile()
    catalog.metadata = full.metadata
    live = [e for e in full if not e.obsolete]
    for entry in [e for e in live if e.msgstr and not e.msgid_plural and len(e.msgid) < 30][:4] + \
            [next(e for e in live if e.msgid_plural and all(e.msgstr_plural.values()))]:
        catalog.append(entry)
    source = tmp_path / "django.po"
    catalog.save(str(source))
    result = run_cli("--from", "en", "--to", "de", str(source), data_dir=data_dir, model=default_gguf)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [f"alma-translate: error: {source}: all 5 messages are translated already "
                      "(use --overwrite to translate them again)"], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["django.po"]

    again = run_cli("--from", "en", "--to", "de", "--overwrite", str(source), data_dir=data_dir, model=default_gguf)
    assert again.returncode == 0, again.stderr
    after = polib.pofile(str(tmp_path / "django.de.po"))
    assert [entry.msgid for entry in after] == [entry.msgid for entry in catalog]
    assert all("fuzzy" in entry.flags for entry in after)  # machine output, to review
