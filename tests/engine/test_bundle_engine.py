"""The engine on a bundle: the fast test model loaded once, a real LoRA adapter per language set on the context as
the direction changes (docs/adapters.md); greedy, batched and beam decoding under an adapter; the KV prefix and
the translation cache never carried across an adapter switch."""

from __future__ import annotations

import shutil
import warnings

import pytest

from alma_core.bundle import BundleError, load_bundle, new_base, write_bundle
from desktop.engine import ModelLoadError, TranslationEngine, UntrainedDirectionWarning
from desktop.stores.cache import TranslationCache

SENTENCES = ["Der Hund schläft im Garten.", "Ich habe heute keine Zeit.", "Das Fenster ist offen."]


@pytest.fixture(scope="module")
def bundle_engine(default_bundle):
    engine = TranslationEngine(default_bundle, n_threads=2, cache=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def base_engine(default_gguf):
    engine = TranslationEngine(default_gguf, n_threads=2, cache=False)
    yield engine
    engine.close()


def test_switching_direction_sets_another_adapter_on_the_same_model(bundle_engine, base_engine):
    model = bundle_engine._model
    llama = model._llama
    de, fr = model.adapter_pointer("de", "en"), model.adapter_pointer("fr", "en")
    assert de and fr and de != fr and model.adapter_pointer("en", "de") == de
    with_de = [bundle_engine.translate(s, "de", "en") for s in SENTENCES]
    assert model.active_adapter == bundle_engine.bundle.adapter_path(bundle_engine.bundle.adapters[0])
    with_fr = [bundle_engine.translate(s, "fr", "en") for s in SENTENCES]
    assert model.active_adapter.name == "fr.lora.gguf"
    assert model._llama is llama  # no reload: the same weights, another adapter
    assert model.adapter_pointer("de", "en") == de  # loaded once, kept
    base = [base_engine.translate(s, "de", "en") for s in SENTENCES]
    assert with_de != base  # the adapter changes what the model says
    assert [bundle_engine.translate(s, "de", "en") for s in SENTENCES] == with_de  # and switching back restores it
    assert with_fr != with_de


def test_a_direction_without_adapter_runs_the_base_with_a_warning(bundle_engine, base_engine):
    assert bundle_engine.adapter_for("de", "fr") is None
    assert "no adapter for de-fr" in bundle_engine.direction_warning("de", "fr")
    assert bundle_engine.direction_warning("en", "fr") is None
    with pytest.warns(UntrainedDirectionWarning, match=r"no adapter for de-fr \(adapters: de-en, en-de, fr-en, en-fr\)"):
        alone = bundle_engine.translate(SENTENCES[0], "de", "fr")
    assert bundle_engine._model.active_adapter is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedDirectionWarning)
        assert alone == base_engine.translate(SENTENCES[0], "de", "fr")


def test_the_prompt_prefix_is_not_reused_across_an_adapter_switch(default_bundle, bundle_engine):
    """llama-cpp-python keeps the last prompt's KV cells and reuses the longest common prefix: after
    de-fr (the base alone) the de-en prompt shares "Translate this from German to", cells computed without
    the adapter. The switch must forget them: the scores equal those of a fresh engine's first call."""
    fresh = TranslationEngine(default_bundle, n_threads=2, cache=False)
    try:
        expected = fresh.translate_report(SENTENCES[1], "de", "en").sentences[0]
    finally:
        fresh.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedDirectionWarning)
        bundle_engine.translate(SENTENCES[1], "de", "fr")
    after_switch = bundle_engine.translate_report(SENTENCES[1], "de", "en").sentences[0]
    assert after_switch.translation == expected.translation
    assert after_switch.confidence == pytest.approx(expected.confidence, abs=1e-6)


def test_batches_decode_with_the_direction_adapter(bundle_engine, base_engine):
    """One sequence at a time, the batch context decodes exactly the streamed greedy output (as on a single
    GGUF: tests/engine/test_batch_translate.py), so its adapter is the direction's; a full batch may part
    from it at near-ties, but not to the base's output."""
    texts = ["The dog sleeps in the garden.", "I have no time today.", "The window is open."]
    streamed = [bundle_engine.translate(t, "en", "de") for t in texts]
    with bundle_engine.prefetch(texts, "en", "de", max_sequences=1) as decoded:
        assert decoded == len(texts)
        one_slot = [bundle_engine.translate(t, "en", "de") for t in texts]
    with bundle_engine.prefetch(texts, "en", "de") as decoded:
        assert decoded == len(texts)
        batched = [bundle_engine.translate(t, "en", "de") for t in texts]
    with base_engine.prefetch(texts, "en", "de"):
        base = [base_engine.translate(t, "en", "de") for t in texts]
    assert one_slot == streamed
    assert batched != base


def test_beam_search_runs_with_the_direction_adapter(bundle_engine, base_engine, default_bundle):
    sentence = SENTENCES[0]
    first = bundle_engine.alternatives(sentence, "fr", "en", n=3)  # the beam context gets fr's adapter
    ours = bundle_engine.alternatives(sentence, "de", "en", n=3)  # then de's
    fresh = TranslationEngine(default_bundle, n_threads=2, cache=False)
    try:
        assert fresh.alternatives(sentence, "de", "en", n=3) == ours
    finally:
        fresh.close()
    assert ours != base_engine.alternatives(sentence, "de", "en", n=3)
    assert first != ours


def test_the_cache_is_keyed_by_adapter(default_bundle, default_gguf, tmp_path):
    """The bundle's base is the single GGUF's file: an output cached by the base alone is served to the
    bundle's directions without adapter, never to one with an adapter (and back)."""
    cache = TranslationCache(tmp_path / "cache.sqlite3")
    base = TranslationEngine(default_gguf, n_threads=2, cache=cache)
    bundle = TranslationEngine(default_bundle, n_threads=2, cache=cache)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UntrainedDirectionWarning)
            base.translate(SENTENCES[2], "de", "en")
            base.translate(SENTENCES[2], "de", "fr")
            assert bundle.translate_report(SENTENCES[2], "de", "fr").sentences[0].origin == "cache"
        report = bundle.translate_report(SENTENCES[2], "de", "en").sentences[0]
        assert report.origin == "model"
        assert bundle.translate_report(SENTENCES[2], "de", "en").sentences[0].origin == "cache"
        assert bundle.cache_key(src="de", tgt="en") != bundle.cache_key(src="fr", tgt="en") != base.cache_key()
        assert bundle.cache_key(src="de", tgt="fr") == base.cache_key()
    finally:
        base.close()
        bundle.close()
        cache.close()


def test_the_engine_reports_the_bundle(bundle_engine):
    info = bundle_engine.info
    assert info["bundle"] == "smollm2-test" and info["adapters"] == ["de", "fr"]
    assert info["alma.language_pairs"] == "de-en,en-de,fr-en,en-fr"
    assert info["architecture"] == "llama" and info["file_size"] == bundle_engine.bundle.size()


def test_a_broken_bundle_is_a_model_load_error(default_bundle, tmp_path):
    broken = tmp_path / "broken.bundle"
    shutil.copytree(default_bundle, broken, symlinks=True)
    (broken / "adapters" / "de.lora.gguf").unlink()
    with pytest.raises(ModelLoadError, match=r"bundle\.json: adapters\[0\]\.file: adapters/de\.lora\.gguf is not"):
        TranslationEngine(broken, cache=False)
    assert issubclass(BundleError, ModelLoadError)


def test_an_adapter_of_another_base_is_refused_by_llama_cpp(default_bundle, tmp_path, app_default_gguf):
    """A bundle whose adapter does not fit its base (tensor names or shapes): llama.cpp refuses it at load."""
    other = tmp_path / "other.bundle"
    shutil.copytree(default_bundle, other, symlinks=True)
    (other / "base.gguf").unlink()
    (other / "base.gguf").symlink_to(app_default_gguf)
    bundle = load_bundle(other, check_files=False)
    bundle.base = new_base(other, "base.gguf", "gemma3")
    write_bundle(bundle)
    with pytest.raises(ModelLoadError, match=r"de\.lora\.gguf: llama\.cpp could not load the LoRA adapter"):
        TranslationEngine(other, cache=False, n_threads=2)
