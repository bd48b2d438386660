"""python -m desktop.cli: alma-translate (docs/translate.md, "Command line")."""

import sys

from desktop.cli.main import main

sys.exit(main())
