"""python -m desktop.cli: alma-translate."""

import sys

from desktop.cli.main import main

sys.exit(main())
