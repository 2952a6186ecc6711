#!/usr/bin/env python3
"""Make ``.env`` from ``.env.example``: every ``change-me`` becomes a fresh random secret.

An existing ``.env`` is left as it is, except that one made before the API needed an access key
gets the ``BARISTA_ACCESS_KEY_ID`` / ``BARISTA_SECRET_ACCESS_KEY`` lines it lacks, appended, so
upgrading keeps a user's own settings. Standard library only: it runs before the virtualenv.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

KEY_LINE = re.compile(r"^BARISTA_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)=")


def fresh(line: str) -> str:
    return line.replace("change-me", secrets.token_urlsafe(18))


def main(example: Path, env: Path) -> str:
    lines = example.read_text().splitlines()
    if not env.exists():
        env.write_text("\n".join(fresh(line) for line in lines) + "\n")
        return "made .env with fresh random passwords"
    text = env.read_text()
    missing = [
        fresh(line)
        for line in lines
        if KEY_LINE.match(line)
        and not re.search(rf"(?m)^{re.escape(line.split('=', 1)[0])}=", text)
    ]
    if not missing:
        return ".env already has an API access key"
    env.write_text(
        text.rstrip("\n") + "\n\n# The API access key (added by make)\n" + "\n".join(missing) + "\n"
    )
    return "added an API access key to .env"


if __name__ == "__main__":
    print(main(Path(sys.argv[1]), Path(sys.argv[2])))
