"""SIGTERM, SIGINT and SIGHUP in the middle of real work leave nothing half-written (issue 16, item 1).

Each test starts the real command line as a child process on real models (the fast test model
SmolLM2-135M and its HF export), waits until it is visibly mid-work (its temporary file or staging
folder exists), sends the signal, and checks: exit status 128 + signal, one line on stderr and no
traceback, the output folder listed exactly as before (no .part, .tmp or staging folder), the source
and a previous output byte for byte as they were, and no child process left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# Generous: the reference machine has 2 cores and may be busy with other work.
START_TIMEOUT_S = 120
EXIT_TIMEOUT_S = 60

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def _start(module: str, *args: str | Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _hidden(folder: Path, startswith: str, endswith: str) -> Callable[[], bool]:
    return lambda: any(p.name.startswith(startswith) and p.name.endswith(endswith) for p in folder.iterdir())


def _wait_until(proc: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """Poll until `ready()`; fail (with the child's stderr) if the child ends first or it takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended (exit {proc.returncode}) before {what}:\n{err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"no {what} within {START_TIMEOUT_S} s")
        time.sleep(0.02)


def _interrupt(proc: subprocess.Popen, signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"still running {EXIT_TIMEOUT_S} s after {signal.Signals(signum).name}")
    return proc.returncode, err


def _assert_clean_exit(returncode: int, stderr: str, prog: str, signum: int) -> None:
    name = signal.Signals(signum).name
    assert returncode == 128 + signum, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(f"{prog}: interrupted ({name}); "), stderr
    assert sum("interrupted" in line for line in lines) == 1, stderr


def _listing(folder: Path) -> dict[str, bytes | None]:
    """Every entry under folder, hidden ones included: file contents (small files), None for the rest."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and p.stat().st_size < 1 << 20 else None)
            for p in folder.rglob("*")}


def _processes_mentioning(*texts: str) -> list[str]:
    """Command lines of running processes naming all of `texts` (e.g. a child still writing into a folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if all(text in cmdline for text in texts):
            found.append(cmdline)
    return found


# --- alma-translate: mid-document --------------------------------------------------------------


@pytest.mark.parametrize("signum", [*SIGNALS, pytest.param(signal.SIGHUP, id="SIGHUP")])
def test_signal_mid_document_leaves_no_part_file(tmp_path, default_gguf, signum):
    docs = tmp_path / "docs"
    docs.mkdir()
    source = docs / "long.txt"
    # Sentences unique to this test, so the translation cache cannot make the run finish early.
    name = signal.Signals(signum).name
    source.write_text("".join(f"Das Haus Nummer {i} ist groß, und der Garten ({name}) ist schön.\n\n"
                              for i in range(400)), encoding="utf-8")
    previous = docs / "long.en.txt"
    previous.write_text("the previous translation\n", encoding="utf-8")
    before = _listing(docs)

    proc = _start("desktop.cli", "-m", default_gguf, "--from", "de", "--to", "en", source, cwd=tmp_path)
    _wait_until(proc, _hidden(docs, ".long.en.txt.", ".part"), "translation under way (.part file)")
    returncode, stderr = _interrupt(proc, signum)

    _assert_clean_exit(returncode, stderr, "alma-translate", signum)
    assert "no partial output was kept" in stderr
    assert _listing(docs) == before  # no .part file; source and previous output byte for byte


# --- alma-convert: mid-conversion, both in the Python writer and in llama.cpp's quantizer --------


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("phase", ["f16-writer", "quantizer"])
def test_signal_mid_convert_leaves_previous_gguf(tmp_path, default_hf_dir, signum, phase):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "model.gguf"
    output.write_bytes(b"the previous model file")
    before = _listing(out_dir)

    proc = _start("convert.cli", default_hf_dir, "--output", output, "--type", "q4_k_m", "--force",
                  "--threads", "1", cwd=tmp_path)
    if phase == "f16-writer":
        # The f16 intermediate (.model.gguf.<pid>.f16.gguf) is itself written through a .tmp sibling.
        ready, what = _hidden(out_dir, "..model.gguf.", ".tmp"), "the f16 writer"
    else:
        # The quantizer's output is the only single-dot .model.gguf.*.tmp; its child is running.
        ready, what = (lambda: any(p.name.startswith(".model.gguf.") and p.name.endswith(".tmp")
                                   and ".f16." not in p.name for p in out_dir.iterdir())
                       and bool(_processes_mentioning("convert.quantize", str(out_dir)))), "the quantizer child"
    _wait_until(proc, ready, what)
    returncode, stderr = _interrupt(proc, signum)

    _assert_clean_exit(returncode, stderr, "alma-convert", signum)
    assert _listing(out_dir) == before  # no f16 intermediate, no .tmp, the previous GGUF as it was
    assert _processes_mentioning(str(out_dir)) == []  # the quantizer child was killed too, not orphaned


# --- alma-train merge: mid-save of the merged model ---------------------------------------------


@pytest.fixture(scope="module")
def lora_adapter(tmp_path_factory, default_hf_dir) -> Path:
    """A real (untrained, non-zero) LoRA adapter on the test model's HF export, as peft saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    model = AutoModelForCausalLM.from_pretrained(default_hf_dir, dtype=torch.float32)
    lora = LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                      init_lora_weights=False)  # random B, so the merge really changes the weights
    get_peft_model(model, lora).save_pretrained(out)
    return out


@pytest.mark.parametrize("signum", SIGNALS)
def test_signal_mid_merge_leaves_no_staging_folder(tmp_path, default_hf_dir, lora_adapter, signum):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "kept.txt").write_text("an unrelated file\n")
    adapter_before = _listing(lora_adapter)
    before = _listing(runs)

    proc = _start("alma_train.cli", "merge", "--base", default_hf_dir, "--adapter", lora_adapter,
                  "--output", runs / "merged", cwd=tmp_path)
    _wait_until(proc, _hidden(runs, ".merged.", ""), "the merged model's staging folder")
    returncode, stderr = _interrupt(proc, signum)

    _assert_clean_exit(returncode, stderr, "alma-train merge", signum)
    assert _listing(runs) == before  # no staging folder, no half model under runs/merged
    assert _listing(lora_adapter) == adapter_before


# --- the mechanism itself, in this process ------------------------------------------------------


def _signal_self_and_wait(signum: int) -> None:
    os.kill(os.getpid(), signum)
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while time.monotonic() < deadline:  # the handler raises at the next bytecode
        time.sleep(0.01)
    pytest.fail("the signal did not interrupt")


def test_nested_command_lets_the_outer_one_report(capsys):
    """build-translator calls alma-convert's main: the interruption must reach build-translator's
    handler (its message, its exit status), not become an 'alma-convert failed' error."""
    from alma_core.interrupts import run_interruptible

    previous = signal.getsignal(signal.SIGTERM)
    inner = lambda: run_interruptible("inner", lambda: _signal_self_and_wait(signal.SIGTERM))  # noqa: E731
    assert run_interruptible("outer", inner, message="run it again") == 143
    assert capsys.readouterr().err == "outer: interrupted (SIGTERM); run it again\n"
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored for the rest of the process


def test_critical_section_holds_the_signal_until_it_ends():
    from alma_core.interrupts import Interrupted, critical, run_interruptible

    steps = []

    def body() -> int:
        with critical():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)  # a signal handled here would skip the next line
            steps.append("committed")
        steps.append("after")  # not reached: the held signal is raised as the section ends
        return 0

    assert run_interruptible("prog", body) == 129
    assert steps == ["committed"]
    assert issubclass(Interrupted, KeyboardInterrupt)  # so every `finally` and `except BaseException` runs


def test_a_signal_inside_a_c_callback_is_not_lost():
    """llama.cpp calls Python back (its log) while it loads and decodes; a signal handled in there would
    raise inside a ctypes callback, where ctypes prints and drops the exception, and the command would run
    on (seen: "Exception ignored on calling ctypes callback function ... Interrupted: SIGHUP", and the
    document went on). A callback marked called_from_c has the signal delivered again once Python is back
    outside it."""
    import ctypes

    from alma_core.interrupts import called_from_c, run_interruptible

    def log(text: bytes) -> None:
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.05)  # the handler runs in here

    callback = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(called_from_c(log))
    steps = []

    def body() -> int:
        callback(b"llama_context: n_ctx = 4096")  # through C, as llama.cpp's log calls come
        for _ in range(50):  # the command's own work goes on; the signal must stop it here
            time.sleep(0.01)
        steps.append("finished")
        return 0

    assert run_interruptible("prog", body) == 129
    assert steps == []


# --- the desktop app: a signal closes the window as its close button does ----------------------


def test_signal_closes_the_app_and_cancels_its_document_job(qtbot, tmp_path, monkeypatch, default_gguf):
    """Logging out sends the app SIGTERM (or SIGHUP): the running document job is cancelled and its
    .part file removed, as when the user closes the window."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from desktop.gui.app import MainWindow, close_on_signals

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))  # its own, empty translation cache
    docs = tmp_path / "docs"
    docs.mkdir()
    source = docs / "chronik.txt"
    source.write_text("".join(f"Im Jahr {1500 + n} baute die Stadt eine neue Brücke.\n\n" for n in range(300)),
                      encoding="utf-8")
    (docs / "chronik.en.txt").write_text("the previous translation\n", encoding="utf-8")
    before = _listing(docs)

    window = MainWindow(default_gguf)
    qtbot.addWidget(window)
    window.show()
    previous = close_on_signals(window)
    try:
        (job,) = window.documents_view.add_files([source])
        qtbot.waitUntil(lambda: job.done >= 1 and _hidden(docs, ".chronik.en.txt.", ".part")(),
                        timeout=START_TIMEOUT_S * 1000)
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=EXIT_TIMEOUT_S * 1000)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert window.stopped_by_signal == signal.SIGTERM
    assert job.state.value == "Cancelled"
    assert _listing(docs) == before
