"""The translation engine on the real default model: file checks, metadata, streaming, cache, cancel."""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import pytest

from alma_core.prompts import build_prompt, clean_output
from desktop.engine import (
    ModelLoadError,
    TranslationCancelled,
    TranslationEngine,
    UntrainedDirectionWarning,
    read_model_info,
)
from desktop.stores.cache import TranslationCache

MAX_NEW_TOKENS = 16


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> TranslationCache:
    return TranslationCache(tmp_path_factory.mktemp("engine-cache") / "cache.sqlite3")


@pytest.fixture(scope="module")
def engine(default_gguf, cache) -> TranslationEngine:
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=MAX_NEW_TOKENS, cache=cache)


def gguf_with_alma_keys(source: Path, target: Path, pairs: list[str]) -> None:
    """Copy a GGUF adding alma.language_pairs (an array of strings) to its header, with gguf-py's writer."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(target, arch=reader.get_field(gguf.Keys.General.ARCHITECTURE).contents(),
                             endianess=reader.endianess)
    pairs_key = MetadataDetails(gguf.GGUFValueType.ARRAY, pairs, sub_type=gguf.GGUFValueType.STRING)
    copy_with_new_metadata(reader, writer, {"alma.language_pairs": pairs_key}, remove_metadata=[])


# -- the model file ------------------------------------------------------------------------------

def test_model_info_reads_the_gguf_metadata(default_gguf):
    info = read_model_info(default_gguf)
    assert info["architecture"] == "llama"
    assert info["quantization"] == "Q4_1"
    assert info["layers"] == 30
    assert info["file_size"] == default_gguf.stat().st_size
    assert 130e6 < info["parameters"] < 140e6  # SmolLM2-135M


def test_a_text_file_is_not_a_model(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_text("hello, I am not a model\n")
    with pytest.raises(ModelLoadError, match=r"model\.gguf: not a GGUF model file"):
        TranslationEngine(fake, cache=False)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file"):
        TranslationEngine(tmp_path / "absent.gguf", cache=False)


@pytest.mark.parametrize("keep_bytes", [10, 3000, 50_000_000])
def test_a_truncated_model_is_refused_before_llama_cpp_sees_it(default_gguf, tmp_path, keep_bytes):
    cut = tmp_path / "cut.gguf"
    with default_gguf.open("rb") as handle:
        cut.write_bytes(handle.read(keep_bytes))
    with pytest.raises(ModelLoadError, match=r"cut\.gguf: truncated"):
        TranslationEngine(cut, cache=False)


def test_alma_metadata_is_read_and_an_untrained_direction_warns(default_gguf, tmp_path):
    model = tmp_path / "alma.gguf"
    gguf_with_alma_keys(default_gguf, model, ["de-en", "en-de"])
    engine = TranslationEngine(model, n_threads=2, max_new_tokens=4, cache=False)
    assert engine.info["alma.language_pairs"] == ["de-en", "en-de"]
    assert engine.direction_warning("de", "en") is None
    with pytest.warns(UntrainedDirectionWarning, match="not trained for cs-en"):
        engine.translate("Dobrý den.", "cs", "en")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.translate("Guten Tag.", "de", "en")  # a trained direction: no warning


def test_gpu_layers_auto_follows_the_llama_cpp_build(engine):
    import llama_cpp

    assert engine.n_gpu_layers == (-1 if llama_cpp.llama_supports_gpu_offload() else 0)


# -- translation ---------------------------------------------------------------------------------

def test_a_sentence_matches_a_bare_llama_cpp_call(engine, default_llama):
    sentence = "Ich habe einen Hund und eine Katze."
    bare = default_llama.create_completion(build_prompt("de", "en", sentence), max_tokens=MAX_NEW_TOKENS,
                                           temperature=0.0, top_k=1)
    expected = clean_output(bare["choices"][0]["text"], "en")
    assert expected  # the model answers something
    assert engine.translate(sentence, "de", "en") == expected


def test_streaming_yields_tokens_that_join_to_the_translation(engine):
    text = "Das Wetter ist gut.\n\n  Wir gehen in den Park."
    pieces = list(engine.iter_translate(text, "de", "en"))
    assert len(pieces) > 4  # token by token, not one piece per sentence
    joined = "".join(pieces)
    assert joined == engine.translate(text, "de", "en")
    assert "\n\n  " in joined and "Wetter" not in joined


def test_long_text_keeps_whitespace_and_line_breaks(engine):
    text = "  Guten Morgen.   Wie geht es dir?\n\n\tMir geht es gut.\n"
    result = engine.translate(text, "de", "en")
    assert result.startswith("  ") and result.endswith(".\n") or result.endswith("\n")
    lines = result.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[1] == "" and lines[2].startswith("\t")
    assert "   " in lines[0]  # the three spaces between the two sentences


def test_the_cache_answers_a_repeated_sentence_without_the_model(engine, default_gguf, cache):
    text = "Der Zug kommt um acht Uhr an."
    first = engine.translate(text, "de", "en")
    calls = engine.model_calls
    assert engine.translate(text, "de", "en") == first
    assert engine.model_calls == calls
    # Another engine on the same model file shares the cache; another direction does not.
    other = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=MAX_NEW_TOKENS, cache=cache)
    assert other.translate(text, "de", "en") == first and other.model_calls == 0
    other.translate(text, "de", "fr")
    assert other.model_calls == 1


def test_cancel_from_another_thread_stops_a_running_translation(engine):
    calls_before = engine.model_calls
    text = " ".join(f"Satz Nummer {n} ist hier." for n in range(40))
    pieces: list[str] = []
    started = threading.Event()

    def run() -> None:
        try:
            for piece in engine.iter_translate(text, "de", "en"):
                pieces.append(piece)
                started.set()
        except TranslationCancelled:
            pieces.append("<cancelled>")

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(60)
    engine.cancel()
    worker.join(60)
    assert not worker.is_alive()
    assert pieces[-1] == "<cancelled>"
    assert engine.model_calls - calls_before < 40
    # The engine stays usable, and a cancel while idle does not hit the next call.
    engine.cancel()
    assert engine.translate("Hallo.", "de", "en")


def test_a_cancel_check_stops_between_tokens(engine):
    seen: list[str] = []
    with pytest.raises(TranslationCancelled):
        for piece in engine.iter_translate("Die Sonne scheint heute sehr hell.", "de", "fr",
                                           cancel=lambda: len(seen) >= 2):
            seen.append(piece)
    assert len(seen) == 2


def test_a_sentence_longer_than_the_context_is_cut_to_fit(default_gguf):
    engine = TranslationEngine(default_gguf, n_threads=2, n_ctx=64, max_new_tokens=4, cache=False)
    sentence = " ".join(["Das ist ein sehr langer Satz ohne Ende und"] * 6)
    started = time.monotonic()
    result = engine.translate(sentence, "de", "en")
    assert result and engine.model_calls > 1
    assert time.monotonic() - started < 120


def test_output_length_is_bounded_by_the_source_length(default_gguf, tmp_path):
    from alma_core.prompts import OUTPUT_LENGTH_SLACK
    from desktop.engine.llama_model import LlamaModel

    engine = TranslationEngine(default_gguf, n_threads=2, cache=False, max_new_tokens=256)
    model = LlamaModel(default_gguf, n_ctx=2048, n_threads=2, n_gpu_layers=0, max_new_tokens=256)  # the engine's
    short, long = "Ja.", " ".join(["Das ist ein langer Satz mit vielen Wörtern."] * 12)
    assert model.token_limit(short) < 3 * 8 + OUTPUT_LENGTH_SLACK < model.token_limit(long) == 256
    for sentence in ("Ja.", "Nein, danke.", "Wo ist der Bahnhof?"):
        before = engine.generated_tokens
        engine.translate(sentence, "de", "en")
        assert engine.generated_tokens - before <= model.token_limit(sentence)
