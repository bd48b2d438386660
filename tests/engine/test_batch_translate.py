"""Batched decoding (desktop.engine.batch_decode / batch_translate) on the real fast model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from alma_core.prompts import build_prompt, clean_output
from desktop.documents import translate_document
from desktop.engine import TranslationCancelled, TranslationEngine
from desktop.engine.batch_decode import BatchDecoder
from desktop.stores.cache import TranslationCache

pytestmark = pytest.mark.timeout(900)

SENTENCES = [
    "Das Passwort ist falsch.", "Bitte geben Sie Ihren Namen ein.", "Die Datei wurde gespeichert.",
    "Möchten Sie die Änderungen verwerfen?", "Der Server antwortet nicht.", "Neues Fenster öffnen",
    "Die Verbindung wurde unterbrochen.", "Alle Rechte vorbehalten.", "Suche starten",
    "Ihr Konto wurde gesperrt.",
]


@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)


def batched(engine, sentences, sequences: int, **kwargs) -> list[str]:
    decoder = BatchDecoder(engine._llama, max_sequences=sequences, n_threads=2)
    try:
        prompts = [build_prompt("de", "en", s) for s in sentences]
        decoded = decoder.decode(prompts, [engine._token_limit(s) for s in sentences], **kwargs)
    finally:
        decoder.close()
    return [clean_output(d.text, "en") for d in decoded]


def test_one_sequence_at_a_time_is_exactly_the_engines_greedy_output(engine):
    """One slot, refilled nine times, with the shared prompt prefix copied in: the same tokens as
    Llama.create_completion's greedy decoding, sentence for sentence."""
    expected = [engine.translate(s, "de", "en") for s in SENTENCES]
    assert batched(engine, SENTENCES, 1) == expected


def test_many_sequences_give_every_sentence_its_own_translation(engine):
    expected = [engine.translate(s, "de", "en") for s in SENTENCES]
    outputs = batched(engine, SENTENCES, 4)
    assert len(outputs) == len(SENTENCES) and all(outputs) and not any("\n" in o for o in outputs)
    # Batched sums differ from one-at-a-time in the last bits; most outputs are the same greedy text.
    same = sum(a == b for a, b in zip(outputs, expected, strict=True))
    assert same >= len(SENTENCES) // 2, list(zip(outputs, expected, strict=True))


def test_stop_interrupts_the_batch(engine):
    steps = []

    def stop() -> bool:
        steps.append(1)
        return len(steps) > 3

    with pytest.raises(InterruptedError):
        batched(engine, SENTENCES, 4, stop=stop)
    assert len(steps) == 4


def write_text_document(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n\n" for line in lines), encoding="utf-8")
    return path


def test_a_document_is_translated_in_batches_with_the_same_structure(default_gguf, tmp_path):
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24,
                               cache=TranslationCache(tmp_path / "cache.sqlite3"))
    source = write_text_document(tmp_path / "ui.de.txt", [*SENTENCES, SENTENCES[0]])  # one repeated
    progress: list[tuple[int, int]] = []
    one = translate_document(source, engine, "de", "en", output=tmp_path / "one.txt", batch=1)
    assert engine.model_calls == len(SENTENCES)
    engine.cache = TranslationCache(tmp_path / "cache2.sqlite3")  # nothing cached: the batch decodes all
    many = translate_document(source, engine, "de", "en", output=tmp_path / "many.txt", batch=4,
                              progress=lambda done, total, eta: progress.append((done, total)))
    assert engine.model_calls == 2 * len(SENTENCES)  # the repeated sentence decoded once
    assert not engine._prepared  # forgotten once the document is written
    lines_one, lines_many = one.read_text().split("\n"), many.read_text().split("\n")
    assert len(lines_one) == len(lines_many) and [bool(x) for x in lines_one] == [bool(x) for x in lines_many]
    assert progress[-1] == (len(SENTENCES) + 1,) * 2
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    # The batch's translations are in the cache: writing again calls the model for nothing.
    again = translate_document(source, engine, "de", "en", output=tmp_path / "again.txt", batch=4)
    assert again.read_text() == many.read_text() and engine.model_calls == 2 * len(SENTENCES)


def test_cancel_in_the_middle_of_a_batch_leaves_no_output(default_gguf, tmp_path):
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)
    source = write_text_document(tmp_path / "ui.de.txt", SENTENCES)
    cancel = threading.Event()

    def progress(done, total, eta):
        if done >= 1:
            cancel.set()  # after the first sentences of the batch came back

    with pytest.raises(TranslationCancelled):
        translate_document(source, engine, "de", "en", batch=4, cancel=cancel, progress=progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ui.de.txt"]
    assert not engine._prepared
    assert engine.model_calls < len(SENTENCES)


def test_cli_batch_option(default_gguf, tmp_path):
    import subprocess
    import sys

    from desktop.cli.main import DEFAULT_BATCH
    from desktop.engine.batch_decode import DEFAULT_SEQUENCES

    assert DEFAULT_BATCH == DEFAULT_SEQUENCES
    source = write_text_document(tmp_path / "ui.de.txt", SENTENCES[:3])
    command = [sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--from", "de", "--to", "en",
               "--no-cache", "--max-new-tokens", "16", "-q", str(source)]
    done = subprocess.run([*command, "--batch", "4"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "ui.en.txt").read_text(encoding="utf-8").split("\n\n")) == 4
    bad = subprocess.run([*command, "--batch", "0"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--batch 0: must be 1 to 64" in bad.stderr
