"""Human-written parallel data that installs offline: the registry of translation catalogs shipped in PyPI
packages (requirement, licence, locales, role) and their reading and cleaning
(docs/training.md#the-demo-data-alma-train-demo-data)."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alma_core.languages import EXTRA_LANGUAGES

TRAIN = "train"
HELDOUT_VALID = "heldout-valid"
HELDOUT_TEST = "heldout-test"
ROLES = (TRAIN, HELDOUT_VALID, HELDOUT_TEST)

# The paper's five languages, and the languages added by data (issue 28): each has >= 2,000 clean train
# pairs and both held-out projects (docs/training.md#languages-by-data). Not offered: da (no Thonny
# catalog, so no test set), ha (no catalog in any source). The lists live in alma_core.languages, for the app.

# The outside test set lives here; nothing in alma_train reads it (docs/training.md, "Never a source").
_OS_CATALOG_ROOTS = (Path("/usr/share/locale"), Path("/usr/share/locale-langpack"))

# Longest English segment kept (characters): longer entries are help paragraphs, not UI segments, and
# would be cut by the 128/256-token caps of the recipes anyway.
MAX_ENGLISH_CHARS = 300
MAX_TRANSLATION_CHARS = 450


class SourceNotInstalledError(FileNotFoundError):
    """A registered catalog source whose package (or its catalogs) is missing; the message names the
    package and the command that installs it."""


@dataclass(frozen=True)
class CatalogSource:
    """One project's translation catalogs, as one of its PyPI wheels installs them."""

    name: str
    requirements: tuple[str, ...]  # pip requirements, pinned with ==
    licence: str
    domain: str
    # our language code -> the catalog locale folder names that hold it (all are read, then deduplicated)
    locales: Mapping[str, tuple[str, ...]]
    role: str = TRAIN
    # True for GTK-style catalogs whose labels carry keyboard mnemonics ("_Open", "打开(_O)")
    mnemonics: bool = False
    # True when `pip install` must get --no-deps: the package's own dependencies are heavy and are not
    # needed to read its catalog files
    no_deps: bool = False
    note: str = ""
    distributions: tuple[str, ...] = field(default=())  # importlib.metadata names; default: from requirements

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.locales)

    def distribution_names(self) -> tuple[str, ...]:
        return self.distributions or tuple(req.split("==")[0] for req in self.requirements)

    def install_command(self) -> str:
        return "pip install " + ("--no-deps " if self.no_deps else "") + " ".join(self.requirements)


def _extra(**variants: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Locale folders of the extra languages in a source: the code itself unless `variants` names others
    (a code given () is absent from that source). Portuguese is Brazilian Portuguese (pt_BR) everywhere:
    the larger catalogs in most sources, and one variant per language keeps the references consistent."""
    folders = {lang: variants.get(lang, (lang,)) for lang in EXTRA_LANGUAGES}
    folders["pt"] = variants.get("pt", ("pt_BR",))
    return {lang: names for lang, names in folders.items() if names}


# Order matters only for deduplication: an (English, translation) pair found in several sources is kept
# once, credited to the first source in this order.
SOURCES: tuple[CatalogSource, ...] = (
    CatalogSource(
        name="django", requirements=("django==5.2.19",), licence="BSD-3-Clause",
        domain="web framework: admin UI, forms, validation messages",
        locales={"de": ("de",), "cs": ("cs",), "is": ("is",), "zh": ("zh_Hans",), "ru": ("ru",), **_extra()},
    ),
    CatalogSource(
        name="wagtail", requirements=("wagtail==8.0.1",), licence="BSD-3-Clause",
        domain="content management system (Django): editor and admin UI",
        locales={"de": ("de",), "cs": ("cs",), "is": ("is_IS",), "zh": ("zh_Hans", "zh"), "ru": ("ru",),
                 **_extra(tr=("tr", "tr_TR"))},
        no_deps=True,
    ),
    CatalogSource(
        name="django-cms", requirements=("django-cms==5.1.3",), licence="BSD-3-Clause",
        domain="content management system (Django): page editing UI",
        locales={"de": ("de",), "cs": ("cs", "cs_CZ"), "is": ("is", "is_IS"),
                 "zh": ("zh_CN", "zh-Hans", "zh"), "ru": ("ru", "ru_RU"),
                 **_extra(ko=("ko", "ko_KR"), fi=("fi", "fi_FI"), tr=("tr", "tr_TR"), ro=("ro", "ro_RO"))},
    ),
    CatalogSource(
        name="django-allauth", requirements=("django-allauth==65.21.1",), licence="MIT",
        domain="user accounts: sign-up, login, e-mail and MFA messages",
        locales={"de": ("de",), "cs": ("cs",), "zh": ("zh_Hans",), "ru": ("ru",), **_extra()},
        note="no Icelandic catalog",
    ),
    CatalogSource(
        name="trac", requirements=("trac==1.6",), licence="BSD-3-Clause",
        domain="issue tracker and wiki",
        locales={"de": ("de",), "cs": ("cs",), "zh": ("zh_CN",), "ru": ("ru",), **_extra()},
        distributions=("Trac",), note="no Icelandic catalog",
    ),
    CatalogSource(
        name="sphinx", requirements=("sphinx==9.0.4",), licence="BSD-2-Clause",
        domain="documentation generator: builder messages, HTML theme strings",
        locales={"de": ("de",), "cs": ("cs",), "is": ("is",), "zh": ("zh_CN",), "ru": ("ru",),
                 **_extra(uk=("uk_UA",))},
        no_deps=True,
    ),
    CatalogSource(
        name="jupyterlab", licence="BSD-3-Clause",
        requirements=("jupyterlab-language-pack-de-de==4.5.post3", "jupyterlab-language-pack-ru-ru==4.5.post3",
                      "jupyterlab-language-pack-zh-cn==4.5.post3"),
        domain="notebook IDE: menus, commands, dialogs",
        locales={"de": ("de_DE",), "zh": ("zh_CN",), "ru": ("ru_RU",)},
        note="no Icelandic pack; the Czech pack has ~20 strings and is left out",
    ),
    CatalogSource(
        name="gramps", requirements=("gramps==6.0.8",), licence="GPL-2.0-or-later",
        domain="genealogy desktop application (GTK): records, reports, dialogs",
        locales={"de": ("de",), "cs": ("cs",), "is": ("is",), "zh": ("zh_CN",), "ru": ("ru",),
                 **_extra(ro=())},
        mnemonics=True,
        note="no Romanian catalog; its wheel installs the catalogs as data files under <prefix>/share/locale",
    ),
    CatalogSource(
        name="deluge", requirements=("deluge==2.2.0",), licence="GPL-3.0-or-later",
        domain="BitTorrent desktop client (GTK) and daemon",
        locales={"de": ("de",), "cs": ("cs",), "is": ("is",), "zh": ("zh_CN",), "ru": ("ru",), **_extra()},
        role=HELDOUT_VALID, mnemonics=True, no_deps=True,
    ),
    CatalogSource(
        name="thonny", requirements=("thonny==5.0.1",), licence="MIT",
        domain="Python IDE for beginners (Tk): editor, debugger, package manager",
        locales={"de": ("de_DE",), "cs": ("cs_CZ",), "is": ("is_IS",), "zh": ("zh_CN", "zh_Hans"),
                 "ru": ("ru_RU",),
                 **_extra(fr=("fr_FR",), es=("es_ES",), it=("it_IT",), nl=("nl_NL",), pl=("pl_PL",), uk=("uk_UA",),
                          ja=("ja_JP",), ko=("ko_KR",), sv=("sv_SE",), fi=("fi_FI",), hu=("hu_HU",),
                          tr=("tr_TR",), ro=("ro_RO",), ar=("ar_SA",))},
        role=HELDOUT_TEST, no_deps=True,
    ),
)


def get_source(name: str) -> CatalogSource:
    for source in SOURCES:
        if source.name == name:
            return source
    raise KeyError(f"unknown catalog source {name!r} (known: {', '.join(s.name for s in SOURCES)})")


def sources_with_role(role: str, sources: tuple[CatalogSource, ...] = SOURCES) -> tuple[CatalogSource, ...]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    return tuple(s for s in sources if s.role == role)


def installed_version(source: CatalogSource) -> str:
    """The installed version(s) of the source's packages; raises SourceNotInstalledError naming them."""
    versions = []
    for dist_name, requirement in zip(source.distribution_names(), source.requirements, strict=True):
        try:
            versions.append(importlib.metadata.version(dist_name))
        except importlib.metadata.PackageNotFoundError:
            raise SourceNotInstalledError(_missing_message(source, requirement)) from None
    return ",".join(sorted(set(versions)))


def _missing_message(source: CatalogSource, requirement: str) -> str:
    return (f"catalog source {source.name!r} needs the package {requirement!r}, which is not installed: "
            f"`{source.install_command()}` (or `make venv`)")


def _is_os_catalog(path: Path) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in _OS_CATALOG_ROOTS)


def catalog_files(source: CatalogSource, lang: str) -> list[Path]:
    """The source's catalog files for one of our languages, sorted; .po preferred over its .mo twin.

    Raises SourceNotInstalledError (naming the package) when a package is missing or installed without
    catalogs for a language the registry promises, and refuses operating-system catalogs outright.
    """
    if lang not in source.locales:
        return []
    wanted = set(source.locales[lang])
    found: dict[tuple[str, ...], Path] = {}
    for dist_name, requirement in zip(source.distribution_names(), source.requirements, strict=True):
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise SourceNotInstalledError(_missing_message(source, requirement)) from None
        for file in dist.files or ():
            parts = file.parts
            if file.suffix not in (".po", ".mo") or "LC_MESSAGES" not in parts:
                continue
            index = parts.index("LC_MESSAGES")
            if index == 0 or parts[index - 1] not in wanted:
                continue
            path = Path(file.locate())
            if not path.is_file():
                continue
            key = (dist_name, *parts[:-1], file.stem)
            if key not in found or path.suffix == ".po":
                found[key] = path
    paths = sorted(found.values())
    for path in paths:
        if _is_os_catalog(path):
            raise RuntimeError(f"{path} is an operating-system message catalog (the outside test set); "
                               f"catalog source {source.name!r} must not read it")
    if not paths:
        raise SourceNotInstalledError(
            f"catalog source {source.name!r}: no catalogs for {lang!r} (locale folders "
            f"{sorted(wanted)}) in the installed package; reinstall it: `{source.install_command()}`")
    return paths


# ---- cleaning -------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"%\([^()\s]+\)[#0+\-]*\d*(?:\.\d+)?[a-zA-Z]"      # %(name)s, %(count)d
    r"|%\d+\$[#0+\-]*\d*(?:\.\d+)?[a-zA-Z]"           # %1$s
    r"|%[#0+\-]*\d*(?:\.\d+)?(?:ll|l|h|z)?[sdifuxXeEgGcr]"  # %s, %d, %5.2f, %ld
    r"|%\d+"                                          # %1 (Qt / JupyterLab)
    r"|\{\{[^{}]*\}\}"                                # {{ name }}
    r"|\$\{[^{}]*\}"                                  # ${name}
    r"|\{[^{}\s]*\}"                                  # {name}, {0}, {}
)
# Placeholders a translation may reorder (%s, %d, %1$s, {}): compared by count; the others by name.
_NAMED = re.compile(r"%\(|%\d+$|\{.+\}|\$\{")
_TAG_OR_ENTITY = re.compile(r"<[^<>]*>|&#?\w+;")
_WORD = re.compile(r"[^\W\d_]{2,}")
_CJK_MNEMONIC = re.compile(r"\s?\([_&][^\W_]\)")  # 打开(_O), 保存(&S)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# A translation in these languages has at least one letter of its script (else it is English or a code).
_SCRIPT = {
    "ru": _CYRILLIC, "uk": _CYRILLIC,
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),  # kana or kanji
    "ko": re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]"),  # Hangul
    "ar": re.compile(r"[\u0600-\u06ff]"),
}
# Characters used only in Traditional Chinese; a zh entry that has one is not Simplified Chinese.
_TRADITIONAL_ONLY = set("這個們為說時會對發開關體與點檔設選項頁無刪編輯資訊請輸錄標題機構顯儲變數視")


def placeholders(text: str) -> list[str]:
    """The format placeholders of a string (%(name)s, %s, %1, {name}, {}), literal %% excluded."""
    return _PLACEHOLDER.findall(text.replace("%%", ""))


def _placeholder_signature(text: str) -> tuple[frozenset[str], int]:
    # Named placeholders as a set (a translation may mention "{name}" once where English repeats it),
    # the others by count.
    named = set()
    unnamed = 0
    for item in placeholders(text):
        if _NAMED.match(item):
            named.add(item)
        else:
            unnamed += 1
    return frozenset(named), unnamed


def strip_mnemonics(text: str) -> str:
    """Remove GTK keyboard mnemonics: "_Open" -> "Open", "Ö_ffnen" -> "Öffnen", "打开(_O)" -> "打开"."""
    text = _CJK_MNEMONIC.sub("", text)
    # Mask placeholders and tags so an underscore inside %(user_name)s or <span a_b=..> is left alone.
    masked = _TAG_OR_ENTITY.sub(lambda m: "\0" * len(m.group()), text)
    masked = _PLACEHOLDER.sub(lambda m: "\0" * len(m.group()), masked)
    spots = [i for i, ch in enumerate(masked)
             if ch == "_" and i + 1 < len(masked) and masked[i + 1].isalnum()
             and (i == 0 or masked[i - 1] != "_")]
    if len(spots) == 1:
        i = spots[0]
        text = text[:i] + text[i + 1:]
    return text


def one_line(text: str) -> str:
    return " ".join(text.split())


def clean_pair(en: str, xx: str, lang: str, mnemonics: bool = False) -> tuple[str, str] | None:
    """The (English, translation) pair as training text, or None when it is not real translatable text.

    Kept as they are: markup (<b>..</b>, &amp;) and placeholders (%(name)s, {count}); the model has to
    learn to carry them. Dropped: empty or untranslated entries, strings without a word (pure
    placeholders, format strings like "%b %d, %Y"), very long entries, translations whose placeholders
    differ from the English (a broken translation would break the program too), translations that paste
    the English in, and zh/ru/uk/ja/ko/ar entries without a letter of their script (zh: Han, not Traditional).
    """
    if mnemonics:
        en, xx = strip_mnemonics(en), strip_mnemonics(xx)
    en, xx = one_line(en), one_line(xx)
    if not en or not xx or en == xx or en.casefold() == xx.casefold():
        return None
    if len(en) > MAX_ENGLISH_CHARS or len(xx) > MAX_TRANSLATION_CHARS:
        return None
    bare = _PLACEHOLDER.sub(" ", _TAG_OR_ENTITY.sub(" ", en.replace("%%", "%")))
    if not _WORD.search(bare):
        return None
    if _placeholder_signature(en) != _placeholder_signature(xx):
        return None
    if len(en) >= 20 and en in xx:
        return None
    if lang == "zh" and (not _HAN.search(xx) or any(ch in _TRADITIONAL_ONLY for ch in xx)):
        return None
    if lang in _SCRIPT and not _SCRIPT[lang].search(xx):
        return None
    return en, xx


# ---- reading --------------------------------------------------------------------------------------

def _load_catalog(path: Path):
    import polib

    try:
        return polib.pofile(str(path)) if path.suffix == ".po" else polib.mofile(str(path))
    except (OSError, ValueError) as exc:  # polib raises OSError/ValueError on malformed catalogs
        raise ValueError(f"{path}: cannot read this catalog ({exc})") from None


def iter_catalog_pairs(path: Path, lang: str, mnemonics: bool = False) -> Iterator[tuple[str, str]]:
    """Cleaned (English, translation) pairs of one catalog: translated, signed-off, singular entries."""
    for entry in _load_catalog(path):
        if entry.obsolete or "fuzzy" in entry.flags or entry.msgid_plural or not entry.msgstr:
            continue
        pair = clean_pair(entry.msgid, entry.msgstr, lang, mnemonics)
        if pair is not None:
            yield pair


def read_source_pairs(source: CatalogSource, lang: str) -> list[tuple[str, str]]:
    """All cleaned pairs of one source for one language, deduplicated, in catalog order."""
    seen: dict[tuple[str, str], None] = {}
    for path in catalog_files(source, lang):
        for pair in iter_catalog_pairs(path, lang, source.mnemonics):
            seen.setdefault(pair, None)
    return list(seen)
