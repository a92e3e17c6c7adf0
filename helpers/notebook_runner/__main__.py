"""``python -m helpers.notebook_runner``: see :mod:`helpers.notebook_runner.cli`."""

import sys

from .cli import main

sys.exit(main())
