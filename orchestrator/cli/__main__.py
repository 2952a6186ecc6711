"""``python -m orchestrator.cli``: the same as the ``barista`` console script."""

from __future__ import annotations

import sys

from orchestrator.cli import main

sys.exit(main())
