"""Frozen entry point of the alma-desktop bundle (PyInstaller runs this as a script)."""

import sys

from alma_core.offline import force_offline

force_offline()

if "--self-test" in sys.argv[1:]:
    from desktop.cli.selftest import run_self_test

    sys.exit(run_self_test())

from desktop.gui.app import main  # noqa: E402 (after the self-test branch on purpose: no window there)

sys.exit(main())
