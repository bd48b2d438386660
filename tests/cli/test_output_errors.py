"""A full disk or a read-only output folder: alma-translate says which file, exits 2, and loses nothing.

Each case runs the real CLI with the fast test model on a document whose translation is far bigger than
the room left, then checks: exit 2, one line naming the output, no traceback, the source and the earlier
output byte for byte as they were, and no temporary file left behind.

How the trouble is made (whatever this machine allows; the file-size limit works everywhere):
- RLIMIT_FSIZE on the CLI process: writes past the limit fail with EFBIG, as on a full disk;
- a 64 KiB tmpfs, filled by the translation (needs root and permission to mount);
- a read-only folder: chmod 555 as a normal user; as root (who may write anyway) a tmpfs remounted
  read-only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 64 * 1024
# One sentence for the model, then ~200 KB of number lines that are copied as they are: the output
# outgrows LIMIT while the test costs one model call.
SOURCE_TEXT = "Ich habe einen Hund.\n" + ("1234567890 " * 9 + "\n") * 2000
EARLIER = "an earlier translation that must survive\n"


def run_cli(model: Path, source: Path, output: Path, preexec_fn: Callable[[], None] | None = None,
            ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--max-new-tokens", "12", "--no-cache", "-q", "-m", str(model),
         "--from", "de", "--to", "en", str(source), "-o", str(output)],
        capture_output=True, text=True, env=env, timeout=300, preexec_fn=preexec_fn,
    )


def assert_clean_failure(result: subprocess.CompletedProcess, source: Path, output: Path, reason: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alma-translate: error: "), result.stderr
    assert str(output) in lines[0] and reason in lines[0], lines[0]
    assert source.read_text() == SOURCE_TEXT
    assert output.read_text() == EARLIER
    leftovers = [p.name for p in output.parent.iterdir() if p.name not in (source.name, output.name)]
    assert not leftovers, leftovers


def make_source(folder: Path) -> Path:
    source = folder / "long.de.txt"
    source.write_text(SOURCE_TEXT)
    return source


def limit_file_size() -> None:
    """In the child: files may not grow past LIMIT; SIGXFSZ ignored so the write fails with EFBIG."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="RLIMIT_FSIZE needs a POSIX system")
def test_a_file_size_limit_fails_cleanly(default_gguf, tmp_path):
    source = make_source(tmp_path)
    output = tmp_path / "long.en.txt"
    output.write_text(EARLIER)
    result = run_cli(default_gguf, source, output, preexec_fn=limit_file_size)
    assert_clean_failure(result, source, output, "File too large")


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_tmpfs(tmp_path) -> Iterator[Path]:
    """A 64 KiB tmpfs at tmp_path/<random>, unmounted afterwards; skips where mounting is not allowed."""
    mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)):
        pytest.skip("mounting a small tmpfs needs root and a system that allows mounts")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_a_full_file_system_fails_cleanly(default_gguf, tmp_path, small_tmpfs):
    source = make_source(tmp_path)
    output = small_tmpfs / "long.en.txt"
    output.write_text(EARLIER)
    result = run_cli(default_gguf, source, output)
    assert_clean_failure(result, source, output, "No space left on device")


def _writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


@pytest.fixture
def read_only_folder(tmp_path) -> Iterator[Path]:
    """A folder holding an earlier output that nobody may write to: chmod for users, a ro mount for root."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "long.en.txt").write_text(EARLIER)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    # root writes through chmod: use a tmpfs that is remounted read-only once the earlier output is in.
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)):
        pytest.skip("running as root, where chmod does not stop writes, and mounting a tmpfs is not allowed")
    try:
        (folder / "long.en.txt").write_text(EARLIER)
        if not _mount("-o", "remount,ro", str(folder)):
            pytest.skip("running as root and a tmpfs cannot be remounted read-only here")
        assert not _writable(folder)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_read_only_output_folder_fails_cleanly(default_gguf, tmp_path, read_only_folder):
    source = make_source(tmp_path)
    output = read_only_folder / "long.en.txt"
    result = run_cli(default_gguf, source, output)
    reason = "Read-only file system" if os.geteuid() == 0 else "Permission denied"
    assert_clean_failure(result, source, output, reason)
