from __future__ import annotations

import pytest

from orchestrator import __version__
from orchestrator.cli import main


def test_version_names_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"barista {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: barista" in capsys.readouterr().err


def test_unknown_service_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "espresso-machine"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'espresso-machine'" in capsys.readouterr().err
