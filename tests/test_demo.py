"""README's first command: ``leakwatch demo`` goes from an empty directory to incidents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli


@pytest.mark.subprocess_cli
def test_demo_finds_the_planted_patients_the_canary_and_the_mention(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = cli("demo", "--dir", str(home), check=0)
    assert "Traceback" not in result.stderr
    cli.process = False  # the demo as a user runs it; what it left is read in this process
    cli.env["LEAKWATCH_HOME"] = str(home)
    incidents = [json.loads(line) for line in cli("incidents", "list", "--json", check=0).stdout.splitlines()]
    by_records = sorted((i["records"], i["counts"]["canaries"], i["severity"]) for i in incidents)
    assert by_records == [(0, 0, "low"), (5, 0, "medium"), (40, 1, "critical")]
    # The drop folder's files were taken once: a second pass finds nothing new.
    again = cli("run", "--once", check=0)
    assert "new=0" in again.stdout
    assert len(cli("incidents", "list", "--json", check=0).stdout.splitlines()) == 3
