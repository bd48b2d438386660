"""How long the GUI's event loop stalls while the model works: python -m desktop.gui.responsiveness.

What it measures and a run's figures: docs/gui.md#measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from desktop.gui.app import MainWindow

TICK_MS = 10
SENTENCES = [
    "Das Treffen findet am Montag statt.",
    "Bitte bringen Sie Ihre Unterlagen mit.",
    "Der Zug fährt um acht Uhr ab.",
    "Wir sehen uns morgen im Büro.",
    "Das Wetter ist heute schön.",
    "Ich habe das Buch gelesen.",
]


def measure(model: Path | None = None, timeout_s: float = 300) -> dict:
    work = Path(tempfile.mkdtemp(prefix="alma-responsiveness-"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["ALMA_LOCAL_DATA"] = str(work / "data")  # an empty cache: every sentence hits the model

    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    app = QApplication.instance() or QApplication([sys.argv[0]])

    clock = QElapsedTimer()
    clock.start()
    window = MainWindow(model)
    window.show()
    while window.translator.model is None:
        app.processEvents()
        if clock.elapsed() > timeout_s * 1000:
            raise TimeoutError("the model did not load")
    load_ms = clock.elapsed()

    gaps: list[int] = []
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    document = work / "brief.txt"
    document.write_text("\n\n".join(reversed(SENTENCES)) + "\n", encoding="utf-8")
    results: list[object] = []
    window.translator.translationReady.connect(results.append)
    window.text_view.live_box.setChecked(False)
    window.text_view.source.setPlainText(" ".join(SENTENCES))

    started = time.perf_counter()
    last[0] = clock.elapsed()
    timer.start()
    window.text_view.translate_now()
    (job,) = window.documents_view.add_files([document])
    deadline = time.monotonic() + timeout_s
    while not (results and job.state.finished):
        if time.monotonic() > deadline:
            raise TimeoutError("the translations did not finish")
        app.processEvents()
        time.sleep(0.001)
    busy_s = time.perf_counter() - started
    timer.stop()
    window.close()

    ordered = sorted(gaps)
    return {
        "model": window.translator.model.path.name,
        "device": window.translator.model.device,
        "model_load_ms": load_ms,
        "text_sentences": len(SENTENCES),
        "document_segments": job.total,
        "document_state": job.state.value,
        "busy_seconds": round(busy_s, 2),
        "generated_tokens_text": results[0].tokens,
        "timer_period_ms": TICK_MS,
        "ticks": len(gaps),
        "gap_median_ms": statistics.median(ordered),
        "gap_p99_ms": ordered[int(0.99 * (len(ordered) - 1))],
        "gap_max_ms": ordered[-1],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.gui.responsiveness",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path,
                        help="GGUF model (default: the app's default model, as alma-translate --print-model shows)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.model), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
