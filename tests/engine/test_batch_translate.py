"""Batched decoding (desktop.engine.batch_decode, the engine's prefetch) on the real fast model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from alma_core.prompts import build_prompt, clean_output
from desktop.documents import DocumentJob, JobOptions
from desktop.engine import TranslationCancelled, TranslationEngine
from desktop.engine.batch_decode import DEFAULT_CELLS
from desktop.engine.llama_model import LlamaModel
from desktop.stores.cache import TranslationCache
from desktop.terminology import TermBase, TermEntry, Terms

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


@pytest.fixture(scope="module")
def model(default_gguf) -> LlamaModel:
    """The engine's model seam on its own, with the engine's settings (the weights the batches decode with)."""
    model = LlamaModel(default_gguf, n_ctx=2048, n_threads=2, n_gpu_layers=0, max_new_tokens=24)
    yield model
    model.close()


def batched(model: LlamaModel, sentences, sequences: int, **kwargs) -> list[str]:
    with model.batch_decoder(sequences, DEFAULT_CELLS, "de", "en") as decoder:
        prompts = [build_prompt("de", "en", s) for s in sentences]
        decoded = decoder.decode(prompts, [model.token_limit(s) for s in sentences], **kwargs)
    return [clean_output(d.text, "en") for d in decoded]


def test_one_sequence_at_a_time_is_exactly_the_engines_greedy_output(engine, model):
    """One slot, refilled nine times, with the shared prompt prefix copied in: the same tokens as
    Llama.create_completion's greedy decoding, sentence for sentence."""
    expected = [engine.translate(s, "de", "en") for s in SENTENCES]
    assert batched(model, SENTENCES, 1) == expected


def test_many_sequences_give_every_sentence_its_own_translation(engine, model):
    expected = [engine.translate(s, "de", "en") for s in SENTENCES]
    outputs = batched(model, SENTENCES, 4)
    assert len(outputs) == len(SENTENCES) and all(outputs) and not any("\n" in o for o in outputs)
    # Batched sums differ from one-at-a-time in the last bits; most outputs are the same greedy text.
    same = sum(a == b for a, b in zip(outputs, expected, strict=True))
    assert same >= len(SENTENCES) // 2, list(zip(outputs, expected, strict=True))


def test_stop_interrupts_the_batch(model):
    steps = []

    def stop() -> bool:
        steps.append(1)
        return len(steps) > 3

    with pytest.raises(InterruptedError):
        batched(model, SENTENCES, 4, stop=stop)
    assert len(steps) == 4


def test_prefetch_serves_its_sentences_inside_the_block_and_forgets_them_at_exit(default_gguf):
    """The engine's prefetch is a context manager: on entry the sentences that need the model are
    decoded together; inside, translate() serves them without a model call; at exit they are gone."""
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)
    texts = [" ".join(SENTENCES[:3]), SENTENCES[3], "", SENTENCES[0]]  # a repeat and an empty text
    ready: list[int] = []
    with engine.prefetch(texts, "de", "en", on_text=ready.append, max_sequences=4) as decoded:
        assert decoded == 4 and engine.model_calls == 4  # each distinct sentence decoded once
        assert sorted(ready) == [0, 1, 2, 3]
        translations = [engine.translate(text, "de", "en") for text in texts]
        assert engine.model_calls == 4  # served from the batch
        report = engine.translate_report(SENTENCES[3], "de", "en")
        assert report.sentences[0].origin == "model" and report.sentences[0].confidence is not None
    assert all(translations[:2]) and translations[2] == "" and translations[0].startswith(translations[3])
    engine.translate(SENTENCES[0], "de", "en")
    assert engine.model_calls == 5  # forgotten: the sentence went to the model again


def test_prefetch_leaves_sentences_with_terms_to_the_term_decoding(default_gguf):
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)
    terms = Terms(TermBase([TermEntry("Passwort", "passcode")], "de", "en"))
    with engine.prefetch(SENTENCES[:3], "de", "en", terms=terms) as decoded:
        assert decoded == 2  # "Das Passwort ist falsch." is decoded with its term, not in the batch
    with engine.prefetch(SENTENCES[:3], "de", "en", terms=Terms(terms.base, "none")) as decoded:
        assert decoded == 3  # strategy "none": the term changes nothing, the sentence is batched too


def write_text_document(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n\n" for line in lines), encoding="utf-8")
    return path


def test_a_document_is_translated_in_batches_with_the_same_structure(default_gguf, tmp_path):
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24,
                               cache=TranslationCache(tmp_path / "cache.sqlite3"))
    source = write_text_document(tmp_path / "ui.de.txt", [*SENTENCES, SENTENCES[0]])  # one repeated
    progress: list[tuple[int, int]] = []
    one = DocumentJob(source, JobOptions("de", "en", output=tmp_path / "one.txt", batch=1)).run(engine)
    assert engine.model_calls == len(SENTENCES)
    engine.cache = TranslationCache(tmp_path / "cache2.sqlite3")  # nothing cached: the batch decodes all
    many = DocumentJob(source, JobOptions("de", "en", output=tmp_path / "many.txt", batch=4,
                                          progress=lambda done, total, eta: progress.append((done, total)))).run(engine)
    assert engine.model_calls == 2 * len(SENTENCES)  # the repeated sentence decoded once
    lines_one, lines_many = one.read_text().split("\n"), many.read_text().split("\n")
    assert len(lines_one) == len(lines_many) and [bool(x) for x in lines_one] == [bool(x) for x in lines_many]
    assert progress[-1] == (len(SENTENCES) + 1,) * 2
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    # The batch's translations are in the cache: writing again calls the model for nothing.
    again = DocumentJob(source, JobOptions("de", "en", output=tmp_path / "again.txt", batch=4)).run(engine)
    assert again.read_text() == many.read_text() and engine.model_calls == 2 * len(SENTENCES)
    # Forgotten once the document is written: with the cache gone, a sentence goes to the model again.
    engine.cache = None
    engine.translate(SENTENCES[0], "de", "en")
    assert engine.model_calls == 2 * len(SENTENCES) + 1


def test_cancel_in_the_middle_of_a_batch_leaves_no_output(default_gguf, tmp_path):
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)
    source = write_text_document(tmp_path / "ui.de.txt", SENTENCES)
    cancel = threading.Event()

    def progress(done, total, eta):
        if done >= 1:
            cancel.set()  # after the first sentences of the batch came back

    with pytest.raises(TranslationCancelled):
        DocumentJob(source, JobOptions("de", "en", batch=4, cancel=cancel, progress=progress)).run(engine)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ui.de.txt"]
    calls = engine.model_calls
    assert calls < len(SENTENCES)
    # Nothing the cancelled batch decoded is kept: every sentence goes to the model again.
    for sentence in SENTENCES:
        engine.translate(sentence, "de", "en")
    assert engine.model_calls == calls + len(SENTENCES)


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
