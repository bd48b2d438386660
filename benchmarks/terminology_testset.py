"""Build the terminology test set (issue 14) from the demo data's splits.

    nice -n 10 .venv/bin/python benchmarks/terminology_testset.py --data /tmp/build1/data \
        --output benchmarks/terminology-testset

Input: the parallel data `alma-train demo-data` writes (DATA/parallel/<xx>-en/{train,test,heldout-test}.jsonl,
records {"de": "...", "en": "...", "source": "gramps"}).

1. Dictionary, from the TRAIN split only: catalog entries (msgid -> msgstr) whose two sides are both short
   (1-3 words, letters only; Chinese: 2-8 Han characters), i.e. a UI label and its translation. Per
   direction the source term is kept when it is not generic (no stop word alone, at least 4 letters, not a
   word that occurs in more than 1 % of the training segments), when one translation dominates (at least
   2/3 of the entries that give the term), and when the training sentences that contain the source term
   carry that translation in at least half the cases (a term the translators really translate that way).
2. Glossary test sentences, from test.jsonl and heldout-test.jsonl (never train): the source contains a
   dictionary term (inflection-tolerant: desktop.terminology.TermBase.find) and the reference contains
   its target term (desktop.terminology.target_present), for EVERY dictionary term found in the source
   (a sentence whose reference translates a term otherwise would punish the glossary for the
   reference's choice). Segments that are only the term itself are left out (a dictionary lookup, not a
   term in a sentence).
3. Do-not-translate terms: product and proper names kept identically in source and reference, tokens that
   are capitalized (Thonny, Python, Django), CamelCase (JupyterLab) or carry digits (UTF-8, IPv6). A
   candidate is kept when the corpus (train + test of the pair) keeps it identical in at least 80 % of
   the segments whose source has it, and its lower-case form is rare (so German nouns that are also
   English words, "Name", "Filter", drop out). DNT test sentences: the source and the reference contain
   the name, and every other DNT term in the source is also in the reference.

Output (--output FOLDER), per direction SRC-TGT (all ten where the data gives sentences):
    SRC-TGT.glossary.tsv   header row "SRC<TAB>TGT", then source term, target term, note (count in train)
    SRC-TGT.dnt.txt        one do-not-translate term a line
    SRC-TGT.test.jsonl     {"SRC": ..., "TGT": ..., "source": project, "split": "test", "line": N,
                            "terms": [[source term, target term], ...], "dnt": [...]}
    summary.json           counts per direction
The test jsonl is a parallel file `alma-train evaluate --test FILE --pairs SRC-TGT` reads directly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LANGUAGES = ("de", "cs", "is", "zh", "ru")
TEST_SPLITS = ("test", "heldout-test")

# Small stop-word lists: a term that is one of these alone is too generic to be terminology.
STOP_WORDS = {
    "en": set("""a an the and or not no yes of to in on at by for from with without as is are was were be been
        it its this that these those all any some none each every new old other more less most least only
        also than then there here what which who whom whose when where why how if else yes ok cancel close
        open save edit delete remove add show hide view help about back next previous first last name
        type value values date time start end yes none default custom title description text label
        message status info information error warning settings options option general advanced""".split()),
    "de": set("""der die das den dem des ein eine einen einem einer eines und oder nicht kein keine ja nein
        von zu im in an am auf bei für aus mit ohne als ist sind war waren sein es sie er ich wir ihr
        dies diese dieser dieses alle alles jede jeder neu neue alt andere mehr weniger nur auch dann
        hier was wer wie wo wann wenn ok abbrechen schließen öffnen speichern bearbeiten löschen
        entfernen hinzufügen anzeigen ausblenden ansicht hilfe über zurück weiter name typ wert datum
        zeit titel beschreibung text nachricht status fehler warnung einstellungen optionen""".split()),
    "cs": set("""a i o u v ve na za do od po pro při s se z ze k ke je jsou byl být to ten ta toto tento
        všechny vše každý nový nová nové jiný více méně jen také pak zde co kdo jak kde kdy ano ne
        zrušit zavřít otevřít uložit upravit smazat odstranit přidat zobrazit skrýt nápověda zpět další
        název typ hodnota datum čas popis text zpráva stav chyba varování nastavení možnosti""".split()),
    "is": set("""og eða ekki já nei af að í á við fyrir frá með án sem er eru var voru vera það þetta
        þessi allir allt hver nýtt ný nýr annað meira minna aðeins líka þá hér hvað hver hvernig hvar
        hvenær ef í lagi hætta loka opna vista breyta eyða fjarlægja bæta sýna fela hjálp um til baka
        næsta nafn tegund gildi dagsetning tími titill lýsing texti skilaboð staða villa aðvörun
        stillingar valkostir""".split()),
    "ru": set("""и или не нет да в во на за до от по для при с со из к ко у о об это этот эта все всё
        каждый новый новая другой больше меньше только также тогда здесь что кто как где когда если
        ок отмена закрыть открыть сохранить изменить удалить добавить показать скрыть вид справка назад
        далее имя тип значение дата время заголовок описание текст сообщение статус ошибка
        предупреждение настройки параметры""".split()),
    "zh": set("""的 了 和 或 不 是 在 有 这 那 一个 所有 新 旧 其他 更多 名称 类型 值 日期 时间 标题 描述 文本
        消息 状态 错误 警告 设置 选项 确定 取消 关闭 打开 保存 编辑 删除 移除 添加 显示 隐藏 帮助 关于
        返回 下一个 上一个""".split()),
}

_LETTER_WORDS = re.compile(r"^[^\W\d_]+(?:[ '’-][^\W\d_]+){0,2}$")
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# A do-not-translate candidate: a Latin-script token, capitalized / CamelCase / with digits.
_DNT_TOKEN = re.compile(r"(?<![\w.+#])([A-Za-z][A-Za-z0-9]*(?:[.+#][A-Za-z0-9]+|-\d+)*\+*)(?![\w+#]|\.\w|-\d)")


def read_jsonl(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                record = json.loads(line)
                record["_line"] = number
                records.append(record)
    return records


def words_of(text: str, lang: str) -> list[str]:
    if lang == "zh":
        return list(text)
    return [w.lower() for w in _WORD.findall(text)]


def is_short_term(text: str, lang: str) -> bool:
    text = text.strip()
    if lang == "zh":
        return bool(_HAN.match(text))
    return bool(_LETTER_WORDS.match(text)) and len(text.split()) <= 3


# -- matching: desktop.terminology when it is there, else a simple stand-in --------------------------

def _load_terminology():
    try:
        from desktop.terminology import TermBase, TermEntry, target_present
    except ImportError:
        return None
    return TermBase, TermEntry, target_present


class _Entry:
    def __init__(self, source: str, target: str, keep: bool = False, note: str = "", origin: str = ""):
        self.source, self.target, self.keep, self.note, self.origin = source, target, keep, note, origin


def _word_pattern(term: str, lang: str) -> re.Pattern:
    # Stand-in for TermBase's inflection tolerance: a word of 6+ letters may change its last two
    # letters (one for 5 letters), and any word may take up to three more.
    if lang == "zh":
        return re.compile(re.escape(term))
    parts = []
    for word in term.split():
        stem = word[:max(len(word) - 2, min(len(word), 4))]
        parts.append(re.escape(stem) + r"\w{0," + str(len(word) - len(stem) + 3) + "}")
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


class _StandInBase:
    def __init__(self, entries, src: str, tgt: str):
        self.entries = list(entries)
        self.src = src
        self._patterns = [(e, _word_pattern(e.source, src) if not e.keep else
                           re.compile(r"(?<!\w)" + re.escape(e.source) + r"(?!\w)")) for e in self.entries]
        self._patterns.sort(key=lambda item: -len(item[0].source))

    def find(self, sentence: str):
        taken: list[tuple[int, int]] = []
        found = []
        for entry, pattern in self._patterns:
            for m in pattern.finditer(sentence):
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append(_Match(entry, m.start(), m.end()))
                break
        return sorted(found, key=lambda m: m.start)


class _Match:
    def __init__(self, entry, start, end):
        self.entry, self.start, self.end = entry, start, end


def _stand_in_present(text: str, entry, tgt: str) -> bool:
    if entry.keep:
        return _has_token(text, entry.target)
    return _word_pattern(entry.target, tgt).search(text) is not None


class Matcher:
    """TermBase / target_present of desktop.terminology, or the stand-in when that is not there."""

    def __init__(self, force_stand_in: bool = False):
        found = None if force_stand_in else _load_terminology()
        self.real = found is not None
        if found:
            self._base, self._entry, self._present = found
        else:
            self._base, self._entry, self._present = _StandInBase, _Entry, _stand_in_present

    def entry(self, source: str, target: str, keep: bool = False, note: str = ""):
        if keep:
            return self._entry(source=source, target=source, keep=True, note=note)
        return self._entry(source=source, target=target, note=note)

    def base(self, entries, src: str, tgt: str):
        return self._base(entries, src, tgt)

    def present(self, text: str, entry, tgt: str) -> bool:
        return self._present(text, entry, tgt)


# -- dictionary ---------------------------------------------------------------------------------------

def document_frequencies(records: list[dict], lang: str) -> Counter:
    df: Counter = Counter()
    for record in records:
        df.update(set(words_of(record[lang], lang)))
    return df


def is_generic(term: str, lang: str, df: Counter, n_records: int) -> bool:
    words = words_of(term, lang) if lang != "zh" else [term]
    stops = STOP_WORDS.get(lang, set())
    if term.lower() in stops:
        return True
    if all(w in stops for w in words):
        return True
    if lang == "zh":
        return len(term) < 2
    content = [w for w in words if w not in stops]
    if len(content) == 1 and len(content[0]) < 4:
        return True
    # A single (content) word that occurs everywhere is not terminology.
    return len(words) == 1 and df[words[0]] > 0.01 * n_records


def word_casing(records: list[dict], lang: str) -> dict[str, str]:
    """Each word's usual spelling inside a sentence (not its first word): "python" -> "Python",
    "corners" -> "corners", German "einstellungen" -> "Einstellungen"."""
    spellings: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        for word in _WORD.findall(record[lang])[1:]:
            spellings[word.lower()][word] += 1
    return {low: counts.most_common(1)[0][0] for low, counts in spellings.items()}


def cased(term: str, casing: dict[str, str]) -> str:
    """The term (lower-cased from a catalog label) with each word spelled as sentences spell it."""
    return re.sub(r"[^\W_]+", lambda m: casing.get(m.group(0).lower(), m.group(0)), term)


def build_dictionary(train: list[dict], src: str, tgt: str, matcher: Matcher) -> list:
    """Source term -> target term entries of one direction, from the train split's catalog entries."""
    df_src = document_frequencies(train, src)
    df_tgt = document_frequencies(train, tgt)
    pairs: dict[str, Counter] = defaultdict(Counter)
    spelled: dict[str, Counter] = defaultdict(Counter)
    for record in train:
        s, t = record[src].strip(), record[tgt].strip()
        if not (is_short_term(s, src) and is_short_term(t, tgt)):
            continue
        if is_generic(s, src, df_src, len(train)) or is_generic(t, tgt, df_tgt, len(train)):
            continue
        key = s.lower()
        pairs[key][t.lower()] += 1
        spelled[key][s] += 1
    casing = word_casing(train, tgt)
    candidates = []
    for key, targets in pairs.items():
        target, count = targets.most_common(1)[0]
        if count * 3 < sum(targets.values()) * 2:
            continue  # no dominant translation
        candidates.append(matcher.entry(spelled[key].most_common(1)[0][0], cased(target, casing),
                                        note=f"train:{count}"))
    # Keep the terms the training sentences translate that way at least half the time. One small
    # TermBase per term, on the sentences that hold the term's first letters (a cheap pre-filter).
    sentences = [(r[src].strip(), r[tgt].strip()) for r in train if not is_short_term(r[src].strip(), src)]
    lowered = [s.lower() for s, _ in sentences]
    kept_entries = []
    for entry in candidates:
        probe = entry.source.lower()[:2] if src == "zh" else entry.source.lower()[:3]
        base = None
        seen = kept = 0
        for (s, t), low in zip(sentences, lowered, strict=True):
            if probe not in low:
                continue
            base = base or matcher.base([entry], src, tgt)
            if base.find(s):
                seen += 1
                kept += matcher.present(t, entry, tgt)
        if seen == 0 or kept * 2 >= seen:
            kept_entries.append(entry)
    return kept_entries


# -- do-not-translate --------------------------------------------------------------------------------

def dnt_candidates(text: str) -> set[str]:
    found = set()
    for token in _DNT_TOKEN.findall(text):
        if len(token) < 3 or token.isdigit():
            continue
        has_digit = any(c.isdigit() for c in token)
        camel = re.search(r"[a-z][A-Z]", token) is not None
        capitalized = token[0].isupper() and any(c.islower() for c in token[1:])
        acronym = token.isupper() and len(token) >= 3 and token.isalpha()
        if has_digit or camel or capitalized or acronym:
            found.add(token)
    return found


def _has_token(text: str, token: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(token) + r"(?!\w)", text) is not None


def build_dnt(records: list[dict], src: str, tgt: str, lowercase_counts: Counter) -> set[str]:
    """Names the pair's segments keep identically (>= 80 %, at least twice), rarely written lower-case."""
    in_source: Counter = Counter()
    kept: Counter = Counter()
    for record in records:
        s, t = record[src], record[tgt]
        for token in dnt_candidates(s):
            in_source[token] += 1
            kept[token] += _has_token(t, token)
    names = set()
    for token, n in in_source.items():
        if kept[token] < 2 or kept[token] < 0.8 * n:
            continue
        if not (any(c.isdigit() for c in token) or token.isupper() or re.search(r"[a-z][A-Z]", token)):
            # A plain capitalized word: it must be a name, not a word capitalized at a sentence start.
            if lowercase_counts[token.lower()] > 0.1 * kept[token]:
                continue
        names.add(token)
    return names


# -- test set ----------------------------------------------------------------------------------------

def _is_bare_term(sentence: str, entries) -> bool:
    plain = re.sub(r"[\W_]+", " ", sentence).strip().lower()
    return any(plain == re.sub(r"[\W_]+", " ", e.source).strip().lower() for e in entries)


def select_direction(tests: list[dict], train_dictionary: list, dnt_names: set[str], src: str, tgt: str,
                     matcher: Matcher) -> tuple[list, list[str], list[dict], dict]:
    """Glossary entries, DNT terms and test records of one direction."""
    dnt_entries = [matcher.entry(name, name, keep=True) for name in sorted(dnt_names)]
    base = matcher.base(list(train_dictionary) + dnt_entries, src, tgt)
    chosen: list[tuple[dict, list, list]] = []
    skipped = Counter()
    for record in tests:
        s, t = record[src], record[tgt]
        matches = base.find(s)
        terms = [m.entry for m in matches if not m.entry.keep]
        names = [m.entry for m in matches if m.entry.keep]
        if not terms and not names:
            continue
        if terms and _is_bare_term(s, terms):
            skipped["bare term"] += 1
            continue
        if not all(matcher.present(t, e, tgt) for e in terms):
            skipped["reference translates a term otherwise"] += 1
            continue
        if not all(_has_token(t, e.source) for e in names):
            skipped["reference changes a name"] += 1
            continue
        chosen.append((record, terms, names))
    glossary: dict[str, object] = {}
    for _, terms, _ in chosen:
        for e in terms:
            glossary[e.source] = e
    # Names: those that some test sentence keeps identically in its reference.
    names_used = {name for name in dnt_names
                  if any(_has_token(r[src], name) and _has_token(r[tgt], name) for r in tests)}
    # Final pass over every test sentence with only the chosen terms (what the evaluation will load):
    # a sentence left out above for a term that is not in the final glossary comes back in.
    final_glossary = sorted(glossary.values(), key=lambda e: e.source.lower())
    final_dnt = sorted(names_used)
    base = matcher.base(list(final_glossary) + [matcher.entry(n, n, keep=True) for n in final_dnt], src, tgt)
    out = []
    for record in tests:
        s, t = record[src], record[tgt]
        matches = base.find(s)
        terms = [m.entry for m in matches if not m.entry.keep]
        names = [m.entry for m in matches if m.entry.keep]
        if not (terms or names) or (terms and _is_bare_term(s, terms)) \
                or not all(matcher.present(t, e, tgt) for e in terms) \
                or not all(_has_token(t, e.source) for e in names):
            continue
        out.append({src: s, tgt: t, "source": record.get("source", ""), "split": record["_split"],
                    "line": record["_line"], "terms": [[e.source, e.target] for e in terms],
                    "dnt": [e.source for e in names]})
    counts = {
        "sentences": len(out),
        "with_terms": sum(1 for r in out if r["terms"]),
        "with_dnt": sum(1 for r in out if r["dnt"]),
        "term_occurrences": sum(len(r["terms"]) for r in out),
        "dnt_occurrences": sum(len(r["dnt"]) for r in out),
        "glossary_entries": len(final_glossary),
        "dnt_terms": len(final_dnt),
        "dictionary_entries": len(train_dictionary),
        "skipped_first_pass": dict(skipped),
    }
    return final_glossary, final_dnt, out, counts


def write_outputs(folder: Path, src: str, tgt: str, glossary, dnt: list[str], records: list[dict]) -> None:
    from alma_core.atomic import write_text_atomic

    name = f"{src}-{tgt}"
    rows = [f"{src}\t{tgt}\tnote"] + [f"{e.source}\t{e.target}\t{e.note}" for e in glossary]
    write_text_atomic(folder / f"{name}.glossary.tsv", "\n".join(rows) + "\n")
    write_text_atomic(folder / f"{name}.dnt.txt",
                      f"# do-not-translate terms, {name} terminology test set\n" + "".join(n + "\n" for n in dnt))
    write_text_atomic(folder / f"{name}.test.jsonl",
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def build(data: Path, output: Path, languages: list[str], stand_in: bool = False) -> dict:
    from alma_core.atomic import write_text_atomic

    matcher = Matcher(force_stand_in=stand_in)
    parallel = data / "parallel" if (data / "parallel").is_dir() else data
    # Lower-case spellings of every word of the English side: a "name" that is an ordinary word.
    lowercase_counts: Counter = Counter()
    loaded = {}
    for lang in languages:
        folder = parallel / f"{lang}-en"
        if not (folder / "train.jsonl").is_file():
            print(f"{folder}: no train.jsonl, {lang} skipped", file=sys.stderr)
            continue
        train = read_jsonl(folder / "train.jsonl")
        tests = []
        for split in TEST_SPLITS:
            path = folder / f"{split}.jsonl"
            if path.is_file():
                for record in read_jsonl(path):
                    record["_split"] = split
                    tests.append(record)
        loaded[lang] = (train, tests)
        for record in train + tests:
            for side in (record.get("en", ""), record.get(lang, "")):
                lowercase_counts.update(w for w in re.findall(r"[a-z][a-z0-9]*", side))
    output.mkdir(parents=True, exist_ok=True)
    summary = {"data": str(parallel), "matcher": "desktop.terminology" if matcher.real else "stand-in",
               "directions": {}}
    for lang, (train, tests) in loaded.items():
        train = [r for r in train if r.get(lang) and r.get("en")]
        tests = [r for r in tests if r.get(lang) and r.get("en")]
        for src, tgt in ((lang, "en"), ("en", lang)):
            dictionary = build_dictionary(train, src, tgt, matcher)
            names = build_dnt(train + tests, src, tgt, lowercase_counts)
            glossary, dnt, records, counts = select_direction(tests, dictionary, names, src, tgt, matcher)
            name = f"{src}-{tgt}"
            write_outputs(output, src, tgt, glossary, dnt, records)
            summary["directions"][name] = counts
            print(f"{name}: {counts['sentences']} sentences ({counts['with_terms']} with glossary terms, "
                  f"{counts['with_dnt']} with DNT terms), {counts['glossary_entries']} glossary entries "
                  f"of {counts['dictionary_entries']} in the dictionary, {counts['dnt_terms']} DNT terms",
                  file=sys.stderr)
    write_text_atomic(output / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/tmp/build1/data",
                        help="the folder `alma-train demo-data` wrote (or its parallel/ folder)")
    parser.add_argument("--output", required=True, help="folder for the glossaries, DNT lists and test files")
    parser.add_argument("--languages", default=",".join(LANGUAGES), help="xx of the xx-en pairs")
    parser.add_argument("--stand-in", action="store_true",
                        help="use the built-in simple matcher even when desktop.terminology is there")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"--data {data}: no such folder", file=sys.stderr)
        return 2
    summary = build(data, Path(args.output), [x.strip() for x in args.languages.split(",") if x.strip()],
                    stand_in=args.stand_in)
    total = sum(c["sentences"] for c in summary["directions"].values())
    print(f"{total} sentences in {len(summary['directions'])} directions -> {args.output} "
          f"(matcher: {summary['matcher']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
