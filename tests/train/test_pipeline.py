"""alma_train.pipeline, the runner of build-translator and of tuning runs: resume, identity, failure, order.

Steps here write real files; the runner with real training is tested by test_build_translator.py and
test_tune_steps.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_train.pipeline import Pipeline, PipelineError, PipelineState, Progress, Step, clock

IDENTITY = {"recipe": "demo", "base": "tiny"}


def refusal(stored) -> str:
    return f"this folder holds another job ({stored})"


class Job:
    """Three steps writing a.txt, b.txt (from a's content) and c.txt; `fail` makes step b raise once."""

    def __init__(self, folder: Path, fail: bool = False) -> None:
        self.folder, self.fail, self.ran, self.lines = folder, fail, [], []

    def step(self, name: str):
        def run() -> str:
            self.ran.append(name)
            if name == "b" and self.fail:
                raise RuntimeError("b failed")
            source = (self.folder / "a.txt").read_text() if name == "b" else "start"
            (self.folder / f"{name}.txt").write_text(source + f" -> {name}")
            return {"file": f"{name}.txt"}

        return run

    def pipeline(self, identity=IDENTITY) -> Pipeline:
        state = PipelineState(self.folder / "state.json", identity, refusal)
        return Pipeline([Step(name, self.step(name), estimate=10.0) for name in "abc"], state,
                        Progress("job", self.lines.append))


def test_a_second_run_skips_the_steps_done_and_keeps_their_results(tmp_path):
    first = Job(tmp_path)
    results = first.pipeline().run()
    assert first.ran == ["a", "b", "c"]
    assert results == {name: {"file": f"{name}.txt"} for name in "abc"}
    assert json.loads((tmp_path / "state.json").read_text()) == {"identity": IDENTITY, "done": results}
    assert (tmp_path / "b.txt").read_text() == "start -> a -> b"
    assert first.lines[0].startswith("[job 0:00 elapsed, about 0:30 left] step 1/3 a")
    assert first.lines[-1].endswith("about 0:10 left] step 3/3 c")  # c itself is still to do

    again = Job(tmp_path)
    pipeline = again.pipeline()
    assert pipeline.progress.remaining == {}  # nothing left to estimate
    assert pipeline.run() == results and again.ran == []
    assert [line.split("] ")[1] for line in again.lines] == [f"step {i}/3 {name}: done in an earlier run"
                                                             for i, name in enumerate("abc", 1)]


def test_a_folder_of_another_job_is_refused_and_left_alone(tmp_path):
    Job(tmp_path).pipeline().run()
    before = (tmp_path / "state.json").read_bytes()
    other = Job(tmp_path)
    with pytest.raises(PipelineError, match=r"this folder holds another job \(\{'recipe': 'demo', 'base': 'tiny'\}\)"):
        other.pipeline(identity={"recipe": "other", "base": "tiny"})
    assert other.ran == [] and (tmp_path / "state.json").read_bytes() == before

    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(PipelineError, match=r"state\.json: not a readable state file"):
        Job(tmp_path).pipeline()
    (tmp_path / "state.json").write_text('{"identity": {}, "done": ["a"]}')
    with pytest.raises(PipelineError, match=r"state\.json: not a state file"):
        Job(tmp_path).pipeline()


def test_a_failed_step_leaves_the_state_as_it_was_and_runs_again_next_time(tmp_path):
    failing = Job(tmp_path, fail=True)
    with pytest.raises(RuntimeError, match="b failed"):
        failing.pipeline().run()
    assert failing.ran == ["a", "b"]
    state = (tmp_path / "state.json").read_bytes()
    assert json.loads(state)["done"] == {"a": {"file": "a.txt"}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "state.json"]  # no temporary file left

    with pytest.raises(RuntimeError):
        Job(tmp_path, fail=True).pipeline().run_step("b")
    assert (tmp_path / "state.json").read_bytes() == state

    fixed = Job(tmp_path)
    fixed.pipeline().run()
    assert fixed.ran == ["b", "c"]  # a stays done; b and c run
    assert list(json.loads((tmp_path / "state.json").read_text())["done"]) == ["a", "b", "c"]


def test_one_step_at_a_time_in_order(tmp_path):
    job = Job(tmp_path)
    with pytest.raises(PipelineError, match="step c needs a, b done first"):
        job.pipeline().run_step("c")
    with pytest.raises(PipelineError, match=r"no step 'd' here \(steps: a, b, c\)"):
        job.pipeline().run_step("d")
    assert job.ran == [] and not (tmp_path / "state.json").exists()

    assert job.pipeline().run_step("a") == {"file": "a.txt"}
    assert job.pipeline().run_step("b") == {"file": "b.txt"}
    assert job.pipeline().run_step("b") == {"file": "b.txt"}  # done: not run again
    assert job.ran == ["a", "b"]
    assert job.lines[-1].endswith("step 2/3 b: done in an earlier run")


def test_estimates_are_asked_only_for_steps_still_to_run(tmp_path):
    asked = []

    def estimate(name: str):
        return lambda: asked.append(name) or 5.0

    def pipeline() -> Pipeline:
        state = PipelineState(tmp_path / "state.json", IDENTITY, refusal)
        steps = [Step(name, lambda: None, estimate(name)) for name in ("slow", "quick")]
        return Pipeline(steps, state, Progress("job", lambda line: None))

    pipeline().run_step("slow")
    assert asked == ["slow", "quick"]
    pipeline()
    assert asked == ["slow", "quick", "quick"]


def test_steps_without_a_line_and_progress_without_an_eta(tmp_path):
    lines = []
    state = PipelineState(tmp_path / "state.json", IDENTITY, refusal)
    steps = [Step("merge", lambda: "nothing to merge", announce=False), Step("convert", lambda: "done")]
    Pipeline(steps, state, Progress("tune run-1", lines.append, eta=False)).run()
    assert [line.split("] ")[1] for line in lines] == ["step 2/2 convert"]
    assert lines[0].startswith("[tune run-1 0:00 elapsed] ")
    assert state.done == {"merge": "nothing to merge", "convert": "done"}
    assert (clock(59), clock(61), clock(3600 + 62)) == ("0:59", "1:01", "1:01:02")
