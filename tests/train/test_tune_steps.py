"""`alma-train tune step` (alma_train.tune) on a tiny random llama, an HF folder, so the run converts its base first.

The run folder is made as the Tune view makes it (desktop.models.tuning.prepare_run); the steps run in
this process through alma-train's command line: in order only, a failed step recorded nowhere and run
again, a finished step skipped, a state file of another run refused, and at the end the tuned GGUF with
its lineage (the parent is the HF folder). The Tune view runs the same steps as child processes in
tests/models/test_tune.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_core.gguf_file import read_model_info
from alma_train.cli import main
from desktop.models import tuning

TINY_TRAINING = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                 "max_target_tokens": 32}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, default_hf_dir) -> Path:
    from tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-base", default_hf_dir)


@pytest.fixture
def run(tmp_path, tiny_base) -> tuning.TuningPlan:
    from alma_train.data.demo_data import read_django_pairs

    data = tmp_path / "django-de.jsonl"
    data.write_text("".join(json.dumps({"de": p.xx, "en": p.en}, ensure_ascii=False) + "\n"
                            for p in read_django_pairs("de")[:24]), encoding="utf-8")
    request = tuning.TuningRequest(data, ["de-en"], base_model=str(tiny_base), train_overrides=dict(TINY_TRAINING),
                                   eval_limit=2, eval_max_new_tokens=6)
    return tuning.prepare_run(request, tmp_path / "runs")


def tune_step(plan: tuning.TuningPlan, name: str, capsys) -> tuple[int, str, str]:
    code = main(["tune", "step", str(plan.run_dir), name])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_steps_run_in_order_resume_and_write_the_tuned_model(run, tiny_base, capsys):
    plan = run
    assert [step.name for step in plan.steps] == ["convert-base", "stage2", "merge", "convert", "evaluate-base",
                                                  "evaluate-tuned", "compare", "finish"]
    state_file = plan.run_dir / tuning.STATE_FILE

    code, _, err = tune_step(plan, "stage2", capsys)
    assert code == 2 and "step stage2 needs convert-base done first" in err
    assert not state_file.exists()

    code, _, err = tune_step(plan, "convert-base", capsys)
    assert code == 0, err
    assert tuning.done_steps(plan.run_dir) == ["convert-base"] and plan.base_gguf.is_file()
    assert f"[tune {plan.run_id} " in err and "step 1/8 convert-base" in err

    # A step that fails (its training file is gone) is recorded nowhere, and runs again next time.
    training_data = plan.train_file.read_bytes()
    plan.train_file.unlink()
    state = state_file.read_bytes()
    code, _, err = tune_step(plan, "stage2", capsys)
    assert code == 2 and "train.jsonl" in err
    assert state_file.read_bytes() == state
    plan.train_file.write_bytes(training_data)
    code, out, err = tune_step(plan, "stage2", capsys)
    assert code == 0, err
    assert "train_loss" in out and tuning.done_steps(plan.run_dir) == ["convert-base", "stage2"]

    # Done already: skipped, not trained again.
    code, out, err = tune_step(plan, "stage2", capsys)
    assert code == 0 and "step 2/8 stage2: done in an earlier run" in err and "train_loss" not in out

    for step in plan.steps[2:]:
        code, _, err = tune_step(plan, step.name, capsys)
        assert code == 0, f"{step.name}: {err[-3000:]}"
    assert tuning.done_steps(plan.run_dir) == [step.name for step in plan.steps]

    report = tuning.finish_run(tuning.load_plan(plan.run_dir))
    assert set(report["directions"]) == {"de-en", "en-de"}
    assert json.loads((plan.run_dir / "status.json").read_text())["state"] == "done"
    assert plan.final_gguf.is_file() and not plan.candidate_gguf.exists()
    assert plan.final_gguf.with_suffix(".md").read_text(encoding="utf-8").startswith(f"# {plan.final_gguf.name}\n")
    meta = read_model_info(plan.final_gguf)
    assert (meta["alma.parent"], meta["alma.parent_sha256"]) == ("tiny-base", "")  # an HF folder has no sha256
    assert meta["alma.parent_path"] == str(tiny_base.resolve())
    assert meta["alma.training_steps"] == 2
    train_rows = len(plan.train_file.read_text(encoding="utf-8").splitlines())
    assert json.loads(meta["alma.training_data"])["pairs"] == train_rows
    assert [entry["name"] for entry in json.loads(meta["alma.lineage"])] == ["tiny-base"]
    assert set(json.loads(meta["alma.scores"])["held-out"]["directions"]) == {"de-en", "en-de"}


def test_a_state_file_of_another_run_and_a_folder_without_config_are_refused(run, tmp_path, capsys):
    plan = run
    other = {"identity": {"run": "tune-other", "steps": ["stage2"]}, "done": {"stage2": {}}}
    (plan.run_dir / tuning.STATE_FILE).write_text(json.dumps(other), encoding="utf-8")
    code, _, err = tune_step(plan, "convert-base", capsys)
    assert code == 2 and f"{tuning.STATE_FILE} records another run" in err and "config.yaml" in err
    assert not plan.base_gguf.exists()

    empty = tmp_path / "not-a-run"
    empty.mkdir()
    assert main(["tune", "step", str(empty), "stage2"]) == 2
    assert "not-a-run/config.yaml: cannot read this run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "step", str(plan.run_dir), "train"])
    assert exit_info.value.code == 2 and "invalid choice: 'train'" in capsys.readouterr().err
