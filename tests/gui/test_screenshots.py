"""`python -m desktop.gui.screenshots` run for real: five PNGs, each taken on the view it names.

The fast test model stands in for the user's built translator (copied where `make model` writes it), so the
run also checks that the script shows a built translator as the default. docs/gui.md (the screenshots).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WINDOW = (1040, 640)
REVIEW = (900, 300)


def test_screenshots_of_every_view_from_a_real_run(default_gguf, tmp_path):
    from PySide6.QtGui import QImage

    # The user's data dir, as after `make model`: only the built translator in it.
    user_data = tmp_path / "user-data"
    (user_data / "models").mkdir(parents=True)
    # A copy, not a link: the app names a model by its resolved path, and this one must be the translator.
    shutil.copyfile(default_gguf, user_data / "models" / "default-translator.gguf")
    before = sorted(p.relative_to(user_data) for p in user_data.rglob("*"))
    env = {**os.environ, "ALMA_LOCAL_DATA": str(user_data), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("QT_QPA_PLATFORM", None)  # the script's own 1280x800 offscreen screen
    out = tmp_path / "shots"
    run = subprocess.run([sys.executable, "-m", "desktop.gui.screenshots", "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stderr[-3000:]

    shown = dict(line.split("\t", 1) for line in run.stdout.splitlines())
    assert shown == {
        str(out / "glossaries.png"): "Glossaries",
        str(out / "text.png"): "Text",
        str(out / "documents.png"): "Documents",
        str(out / "review.png"): "Documents: Review willkommen.md (de → en)",
        str(out / "models.png"): "Models: ● default-translator.gguf (default: built by make model)",
    }
    for path in shown:
        image = QImage(path)
        assert not image.isNull(), path
        expected = REVIEW if path.endswith("review.png") else WINDOW
        assert (image.width(), image.height()) == expected, path
        # Not a blank grab: a view with text and widgets has many colours and compresses to some size.
        colours = {image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
        assert len(colours) > 20 and Path(path).stat().st_size > 10_000, (path, len(colours))

    # The user's own data and settings were neither read into nor written: the run had its own.
    assert sorted(p.relative_to(user_data) for p in user_data.rglob("*")) == before
    assert not (tmp_path / "config").exists()
