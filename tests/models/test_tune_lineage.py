"""Tuning lineage, without Qt: two real generations of tuning and a resumed run.

Generation 1 tunes the fast test model (its base GGUF, picked as a file) on 40 of Django's German UI
translations; generation 2 tunes generation 1's GGUF (through import-gguf, as any GGUF) on 40 other
pairs marked as corrections, and is cancelled during stage 2 after its first checkpoint and resumed.
The steps run as the Tune view runs them (each plan step as a child process, logs in the run folder),
with tiny step counts; the metadata are read back from the GGUF files the runs wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from desktop.models import lineage, tuning

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

TINY_TRAINING = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                 "max_target_tokens": 32}
STEP_TIMEOUT_S = 1200  # one step on a 2-core machine shared with other work (stage 2 took 5+ min at load 8)
SECOND_STEPS = 12  # enough that stage 2 is still training when it is stopped after its first checkpoint


def write_tmx(path: Path, pairs) -> Path:
    units = "".join(
        f'  <tu><tuv xml:lang="de-DE"><seg>{escape(p.xx)}</seg></tuv>'
        f'<tuv xml:lang="en-US"><seg>{escape(p.en)}</seg></tuv></tu>\n' for p in pairs)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
                    '<header srclang="en-US" datatype="plaintext" segtype="sentence" adminlang="en" '
                    'creationtool="test" creationtoolversion="1" o-tmf="none"/>\n'
                    f"<body>\n{units}</body>\n</tmx>\n", encoding="utf-8")
    return path


def run_step(plan: tuning.TuningPlan, step: tuning.Step) -> subprocess.Popen:
    log = open(plan.log_path(step), "ab")  # noqa: SIM115 (closed by the caller through the process)
    return subprocess.Popen(plan.command(step), stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def run_rest(plan: tuning.TuningPlan) -> dict:
    """Every step not done yet, in order (as the Tune view runs them), then the report and model."""
    index = tuning.next_step_index(plan)
    while index < len(plan.steps):
        step = plan.steps[index]
        process = run_step(plan, step)
        try:
            code = process.wait(timeout=STEP_TIMEOUT_S)
        finally:
            if process.poll() is None:  # timed out: no training left running after the test
                process.kill()
                process.wait()
        log = plan.log_path(step).read_text(encoding="utf-8", errors="replace")
        assert code == 0, f"{step.name} failed:\n{log[-3000:]}"
        plan.done_steps.append(step.name)
        tuning.set_status(plan, "running", step=step.name)
        index = tuning.next_step_index(plan, index + 1)
    return tuning.finish_run(plan)


def info(path: Path) -> dict:
    from desktop.engine import read_model_info

    return read_model_info(path)


@pytest.fixture(scope="module")
def generations(tmp_path_factory, default_gguf):
    """(generation 1 plan, report), (generation 2 plan, report, the checkpoint it resumed from)."""
    from alma_train.data.demo_data import read_django_pairs

    folder = tmp_path_factory.mktemp("lineage")
    pairs = read_django_pairs("de")
    runs = folder / "runs"
    settings = {"train_overrides": dict(TINY_TRAINING), "eval_limit": 2, "eval_max_new_tokens": 8}

    first = tuning.prepare_run(tuning.TuningRequest(write_tmx(folder / "django-de.tmx", pairs[:40]), ["de-en"],
                                                    base_model=str(default_gguf), **settings), runs)
    assert first.steps[0].name == "stage2"  # a base's own GGUF: alma-train exports the base itself
    first_report = run_rest(first)

    corrections = folder / "corrections.jsonl"
    corrections.write_text("".join(json.dumps({"de": p.xx, "en": p.en}, ensure_ascii=False) + "\n"
                                   for p in pairs[40:80]), encoding="utf-8")
    request = tuning.TuningRequest(corrections, ["de-en"], base_model=str(first.final_gguf), origin="corrections",
                                   **{**settings, "train_overrides": {**TINY_TRAINING, "max_steps": SECOND_STEPS,
                                                                      "save_steps": 2}})
    second = tuning.prepare_run(request, runs)
    assert [s.name for s in second.steps][:2] == ["import-gguf", "stage2"]  # a tuned GGUF is imported

    # Run import-gguf, start stage 2 and stop it (SIGTERM, as Cancel does) once checkpoint-2 is saved.
    import_step, stage2 = second.steps[:2]
    assert run_step(second, import_step).wait(timeout=STEP_TIMEOUT_S) == 0
    second.done_steps.append(import_step.name)
    process = run_step(second, stage2)
    checkpoint = second.train_dir / "checkpoint-2"
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not (checkpoint / "trainer_state.json").is_file():  # saved last: the checkpoint is whole
        assert process.poll() is None, plan_log(second, stage2)
        assert time.monotonic() < deadline, "no checkpoint-2"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:  # as the Tune view does after its grace period
        process.kill()
        process.wait()
    tuning.set_status(second, "cancelled", "cancelled during stage2")
    assert runs.joinpath(second.run_id) in tuning.resumable_runs(runs)

    resumed = tuning.resume_run(second.run_dir)
    assert resumed.done_steps == ["import-gguf"]
    assert tuning.next_step_index(resumed) == 1
    second_report = run_rest(resumed)
    summary = json.loads((resumed.train_dir / "run_summary.json").read_text(encoding="utf-8"))
    return (first, first_report), (resumed, second_report, summary)


def plan_log(plan: tuning.TuningPlan, step: tuning.Step) -> str:
    return plan.log_path(step).read_text(encoding="utf-8", errors="replace")[-3000:]


def test_a_tuned_model_records_parent_base_data_steps_and_scores(generations, default_gguf):
    from desktop.models.card import read_model_card

    (plan, report), _ = generations
    meta = info(plan.final_gguf)
    assert not plan.candidate_gguf.exists()
    assert meta["alma.parent"] == default_gguf.name
    assert meta["alma.parent_sha256"] == lineage.file_sha256(default_gguf)
    assert meta["alma.parent_path"] == str(default_gguf.resolve())
    assert meta["alma.base"] == "smollm2-135m"
    assert json.loads(meta["alma.lineage"]) == [
        {"name": default_gguf.name, "sha256": lineage.file_sha256(default_gguf), "base": "smollm2-135m",
         "path": str(default_gguf.resolve())}]
    train_file = plan.run_dir / "data" / "train.jsonl"
    data = json.loads(meta["alma.training_data"])
    assert data == {"pairs": 36, "sha256": lineage.file_sha256(train_file), "origin": "django-de.tmx",
                    "sources": {"django-de.tmx": 36}}
    assert meta["alma.training_steps"] == 2
    heldout = json.loads(meta["alma.scores"])["held-out"]
    rows = report["directions"].values()
    assert heldout["chrf"] == pytest.approx(sum(r["chrf_after"] for r in rows) / 2, abs=0.01)
    assert heldout["before"]["bleu"] == pytest.approx(sum(r["bleu_before"] for r in rows) / 2, abs=0.01)
    assert set(heldout["directions"]) == {"de-en", "en-de"} and heldout["segments"] == 4
    assert meta["alma.licence"] == "Apache-2.0"  # the base's licence goes with the derived model

    card = read_model_card(plan.final_gguf, meta)
    assert (card.parent, card.training_pairs, card.training_origin) == (default_gguf.name, 36, "django-de.tmx")
    text = lineage.model_card_path(plan.final_gguf).read_text(encoding="utf-8")
    assert text.startswith(f"# {plan.final_gguf.name}\n")
    assert f"- Parent: {default_gguf.name} (sha256 {lineage.file_sha256(default_gguf)})" in text
    assert "36 sentence pairs from 1 source: django-de.tmx (36)" in text
    assert "held-out: chrF" in text and "(before tuning: chrF" in text
    assert f"1. {default_gguf.name}: base smollm2-135m" in text


def test_tuning_a_tuned_model_extends_the_lineage_and_a_cancelled_run_resumes(generations, default_gguf):
    from desktop.models.card import describe_lineage, read_model_card

    (first, _), (second, _, summary) = generations
    # The resumed stage 2 continued from a checkpoint the cancelled attempt saved, up to max_steps.
    resumed_from = Path(summary["resumed_from"])
    assert resumed_from.parent == second.train_dir and resumed_from.name.startswith("checkpoint-")
    assert 2 <= int(resumed_from.name.split("-")[1]) < SECOND_STEPS
    assert summary["global_step"] == SECOND_STEPS
    assert json.loads((second.run_dir / "status.json").read_text())["state"] == "done"
    assert second.run_dir not in tuning.resumable_runs(second.run_dir.parent)

    meta = info(second.final_gguf)
    first_sha = lineage.file_sha256(first.final_gguf)
    assert (meta["alma.parent"], meta["alma.parent_sha256"]) == (first.final_gguf.name, first_sha)
    assert meta["alma.base"] == "smollm2-135m" and meta["alma.training_steps"] == SECOND_STEPS
    assert json.loads(meta["alma.training_data"])["origin"] == "corrections"
    chain = json.loads(meta["alma.lineage"])
    assert [entry["name"] for entry in chain] == [first.final_gguf.name, default_gguf.name]
    nearest = chain[0]
    assert (nearest["sha256"], nearest["base"], nearest["steps"], nearest["pairs"], nearest["origin"]) == (
        first_sha, "smollm2-135m", 2, 36, "django-de.tmx")
    assert nearest["chrf_after"] is not None and nearest["chrf_before"] is not None
    described = describe_lineage(read_model_card(second.final_gguf, meta))
    assert described.splitlines()[0].startswith(f"parent: {first.final_gguf.name}: 2 steps on 36 pairs "
                                                "(django-de.tmx), chrF ")
    assert described.splitlines()[1] == f"← {default_gguf.name}: base smollm2-135m"

    # The tuned model translates (the lineage keys did not break the file).
    from desktop.engine import TranslationEngine

    assert TranslationEngine(second.final_gguf, cache=False).translate("Passwort ändern", "de", "en").strip()


def test_resume_refuses_a_finished_or_unreadable_run(generations, tmp_path):
    (first, _), _ = generations
    with pytest.raises(tuning.TuningError, match="already finished"):
        tuning.resume_run(first.run_dir)
    broken = tmp_path / "tune-broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("request: [not, a, mapping\n", encoding="utf-8")
    with pytest.raises(tuning.TuningError, match=r"tune-broken/config\.yaml: cannot resume"):
        tuning.resume_run(broken)


def test_file_sha256_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    import hashlib

    real_sha256 = hashlib.sha256
    hashed = []
    monkeypatch.setattr(hashlib, "sha256", lambda *args: hashed.append(1) or real_sha256(*args))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"first")
    assert lineage.file_sha256(model) == real_sha256(b"first").hexdigest()
    assert lineage.file_sha256(model) == real_sha256(b"first").hexdigest() and len(hashed) == 1
    # Same size, new content and a new modification time: hashed again, not the remembered value.
    model.write_bytes(b"secnd")
    os.utime(model, ns=(time.time_ns(), model.stat().st_mtime_ns + 1_000_000_000))
    assert lineage.file_sha256(model) == real_sha256(b"secnd").hexdigest() and len(hashed) == 2
