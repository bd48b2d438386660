"""Frozen entry point of alma-translate inside the desktop bundle."""

import sys

from alma_core.offline import force_offline

force_offline()

if "--self-test" in sys.argv[1:]:
    from desktop.cli.selftest import run_self_test

    sys.exit(run_self_test(check_qt=False))

from desktop.cli.main import main  # noqa: E402

sys.exit(main())
