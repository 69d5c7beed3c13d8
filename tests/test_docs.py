"""Docs that match the code: README's commands and TOML snippets, and the shipped schemas, load."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, Cli

from leakwatch.datasets.schema import load_schema

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "fingerprints" / "README.md"]


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands() -> None:
    first = re.search(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert first is not None and README.index(first.group(0)) < README.index("---")
    commands = [line for line in first.group(1).splitlines() if line and not line.startswith("#")]
    assert commands[0].endswith("leakwatch demo")
    assert commands[1].endswith(".venv/bin/pytest")
    assert "bash .ci/run" not in commands[1]
    assert ".venv/bin/pytest" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_config_snippet_in_the_docs_is_accepted(doc: Path, cli: Cli) -> None:
    """Each TOML block that is a config.toml is written to a home and checked by the real CLI."""
    for block in toml_blocks(doc.read_text(encoding="utf-8")):
        data = tomllib.loads(block)
        if "name" in data and "ref" in data:  # a dataset schema
            continue
        if "driver" in data:  # a source definition file
            sources_d = cli.home / "sources.d"
            sources_d.mkdir(parents=True, exist_ok=True)
            (sources_d / f"{data['name']}.toml").write_text(block)
            continue
        cli.home.mkdir(parents=True, exist_ok=True)
        (cli.home / "config.toml").write_text(block)
        result = cli("sources", "list", "--json")
        assert result.returncode == 0, (doc.name, block, result.stderr)
        (cli.home / "config.toml").unlink()


def test_shipped_schemas_load_and_the_demo_uses_the_documented_one() -> None:
    schemas = sorted((ROOT / "fingerprints").glob("*.toml"))
    assert schemas
    for path in schemas:
        load_schema(path)
    bundled = ROOT / "leakwatch" / "data" / "demo" / "patients.toml"
    assert bundled.read_text() == (ROOT / "fingerprints" / "patients.example.toml").read_text()


def readme_commands() -> list[list[str]]:
    """Commands named in README's table: `terms add\\|list\\|remove` gives three."""
    table = README[README.index("| command | what it does |"):README.index("### What a finding says")]
    commands = []
    for row in table.splitlines()[2:]:
        first_cell = row.split(" | ")[0]
        for code in re.findall(r"`([^`]+)`", first_cell):
            alternatives = code.split("\\|")
            head = _words(alternatives[0])
            commands.append(head)
            for alt in alternatives[1:]:
                words = _words(alt)
                if words and len(head) > 1:
                    commands.append([head[0], *words])
    return commands


def _words(text: str) -> list[str]:
    out = []
    for word in text.split():
        if not re.fullmatch(r"[a-z]+", word):
            break
        out.append(word)
    return out


def test_every_command_in_the_readme_table_exists(cli: Cli) -> None:
    commands = readme_commands()
    assert ["terms", "remove"] in commands and ["incidents", "ack"] in commands and ["demo"] in commands
    for words in commands:
        result = cli(*words, "--help")
        assert result.returncode == 0, (words, result.stderr)
