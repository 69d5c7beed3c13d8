"""Names chosen by whoever published a dump reach the analyst's terminal as text: no Rich markup, no
hyperlink, no escape sequence, no emoji; plus the one-line refusals of ``init`` and of a bad key file,
setting or locked database."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import Cli

ESC_NAME = "esc\x1b]8;;file:evil\x07click\x1b]8;;\x07\x1b[2J\u202etxt.exe"
"""An OSC 8 hyperlink, a clear-screen and a right-to-left override in one file name."""
MARKUP_MEMBERS = ["dump[/x].csv", "[link=https://evil.example]x[/link].csv", "[bold red]fake[/] :phone:.csv"]
TERM = "Hopital Saint-Exemple"


def _raw(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\u260e" not in text  # :phone: left as it is, not turned into an emoji


def _hostile_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / ESC_NAME).write_text(f"{TERM}: export complet\n", encoding="utf-8")
    with zipfile.ZipFile(folder / "archive.zip", "w") as zf:
        for name in MARKUP_MEMBERS:
            zf.writestr(name, f"{TERM}: export complet\n")
    return folder


def test_hostile_names_are_printed_literally_by_scan(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    cli("terms", "add", TERM, "--kind", "org", check=0)
    result = cli("scan", str(_hostile_dir(tmp_path)), check=1)
    _raw(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for member in MARKUP_MEMBERS:
        assert f"archive.zip!{member}: 0 record(s) exposed" in result.stdout
    assert "esc\\x1b]8;;file:evil\\x07click" in result.stdout and "\\u202etxt.exe" in result.stdout


def test_hostile_names_are_printed_literally_by_incidents_show_and_the_logs(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    cli("terms", "add", TERM, "--kind", "org", check=0)
    drop = _hostile_dir(tmp_path)
    (cli.home / "config.toml").write_text(
        f'[[sources]]\nname = "drop"\ndriver = "folder"\nenabled = true\ninterval = "1h"\n'
        f'params = {{ path = "{drop}", min_age = 0 }}\n', encoding="utf-8")
    run = cli("run", "--once", check=0, timeout=120)
    _raw(run.stdout + run.stderr)
    listing = cli("incidents", "list", check=0)
    _raw(listing.stdout)
    ids = [json.loads(line)["id"] for line in cli("incidents", "list", "--json", check=0).stdout.splitlines()]
    assert ids
    text = ""
    for incident in ids:
        shown = cli("incidents", "show", str(incident), check=0)
        _raw(shown.stdout + shown.stderr)
        assert "internal error" not in shown.stderr
        text += shown.stdout
    assert "esc\\x1b]8;;file:evil\\x07click" in text


def test_emoji_codes_in_an_error_are_left_as_they_are(cli: Cli) -> None:
    cli("init", check=0)
    result = cli("scan", ":phone: [bold]dump[/bold].csv", check=2)
    assert result.stderr.strip().splitlines()[-1] == (
        "leakwatch: error: :phone: [bold]dump[/bold].csv: no such file or directory")


# ---- init on a directory it should not trust --------------------------------------------------

def test_init_refuses_an_existing_world_or_group_writable_directory(cli: Cli) -> None:
    cli.home.mkdir()
    (cli.home / "config.toml").write_text('enabled_sources = ["pastebin"]\n')
    for mode in (0o777, 0o770, 0o1777):
        os.chmod(cli.home, mode)
        result = cli("init", check=2)
        [line] = result.stderr.strip().splitlines()
        assert "writable by group or others" in line and str(cli.home) in line
        assert stat.S_IMODE(cli.home.stat().st_mode) == mode  # left as it was
        assert not (cli.home / "key").exists() and not (cli.home / "leakwatch.db").exists()


def test_init_takes_an_empty_directory_of_its_user_and_makes_it_private(cli: Cli) -> None:
    cli.home.mkdir()
    os.chmod(cli.home, 0o777)
    cli("init", check=0)
    assert stat.S_IMODE(cli.home.stat().st_mode) == 0o700
    cli("init", check=0)


def test_init_refuses_a_directory_of_another_user(cli: Cli) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the directory away")
    cli.home.mkdir()
    (cli.home / "config.toml").write_text("")
    os.chown(cli.home, 4242, 4242)
    result = cli("init", check=2)
    assert "owned by another user" in result.stderr and not (cli.home / "key").exists()


# ---- key file, settings, database ------------------------------------------------------------

@pytest.mark.subprocess_cli
def test_a_fifo_or_a_directory_as_key_file_is_refused_without_hanging(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo, 0o600)
    for where in (fifo, tmp_path):
        cli.env["LEAKWATCH_KEY_FILE"] = str(where)
        result = cli("init", check=2, timeout=20)
        assert result.stderr.strip() == f"leakwatch: error: {where}: the key file is not a regular file"


def test_a_bad_environment_variable_is_named_as_such(cli: Cli) -> None:
    cli.env["LEAKWATCH_ENABLED_SOURCES"] = "pastebin"
    result = cli("sources", "list", check=2)
    assert result.stderr.startswith("leakwatch: error: environment LEAKWATCH_ENABLED_SOURCES: enabled_sources:")
    assert "config.toml" not in result.stderr


@pytest.mark.subprocess_cli
def test_a_database_locked_longer_than_the_busy_timeout_is_one_line(cli: Cli) -> None:
    cli("init", check=0)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(cli.home / 'leakwatch.db')!r}, isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        cli.env["LEAKWATCH_DATABASE_BUSY_TIMEOUT"] = "1"
        started = time.monotonic()
        result = cli("terms", "add", "Clinique Exemple", check=75, timeout=60)
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
    [line] = result.stderr.strip().splitlines()
    assert "database is busy" in line and str(cli.home / "leakwatch.db") in line
    assert f"pid {holder.pid}" in line
    assert "internal error" not in line
    con = sqlite3.connect(cli.home / "leakwatch.db")
    assert con.execute("SELECT count(*) FROM watch_term").fetchone() == (0,)
    con.close()


def test_printable_escapes_what_a_terminal_would_interpret_and_keeps_the_rest() -> None:
    from leakwatch.display import printable

    assert printable("Hôpital Saint-Éxemple [dump] 東京 \u00a0x") == "Hôpital Saint-Éxemple [dump] 東京 \u00a0x"
    assert printable("a\x1b[2Jb\x07c\x9bd\u202ee\u2028f\tg") == "a\\x1b[2Jb\\x07c\\x9bd\\u202ee\\u2028f\\x09g"


def test_log_lines_escape_control_characters() -> None:
    import logging

    from leakwatch.log import KeyValueFormatter

    record = logging.LogRecord("leakwatch", logging.INFO, __file__, 1, "sighting", None, None)
    record.kv = {"event": "sighting", "url": "http://x/\x1b]8;;http://evil\x07a\nb"}
    line = KeyValueFormatter().format(record)
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
    # logfmt quoting doubles the backslash of the escape: a logfmt reader gets \x1b back as text
    assert 'url="http://x/\\\\x1b]8;;http://evil\\\\x07a b"' in line


def test_an_exception_python_can_only_report_at_exit_is_one_line_without_its_message(tmp_path: Path) -> None:
    """After a SIGTERM, Python's exit hook can meet a process pool's wake-up pipe already closed and
    print an OSError traceback after leakwatch's own last line. Such exceptions (raised in exit hooks
    and finalisers) are one note, with the class only: a message could quote a value."""
    script = ("import sys\nimport leakwatch.cli as cli\nsys.argv = ['leakwatch', '--help']\n"
              "class Pool:\n    def __del__(self):\n        raise OSError('0612345678 Bad file descriptor')\n"
              "pool = Pool()\ncli.main()\n")
    env = {k: v for k, v in os.environ.items() if k != "LEAKWATCH_DEBUG"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert result.stderr == "leakwatch: note: ignored OSError while finishing (set LEAKWATCH_DEBUG=1 to see it)\n"
