"""``python -m emulator up|down|status``: the background emulator (``emulator/process.py``)."""

import sys

from emulator.process import main

sys.exit(main())
