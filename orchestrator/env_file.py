"""The compose project's ``.env`` file, read as Compose reads it.

Compose takes the stack's ports and credentials from ``.env``; the demo commands and
``barista compare`` read the same file (the process environment winning, as it does for
Compose). python-dotenv parses it: quoting, escapes, ``export`` prefixes and comments as
Compose's own reader handles them.
"""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` settings of ``path``; an absent file has none. A bare ``KEY`` (no ``=``)
    sets nothing, as in Compose."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}
