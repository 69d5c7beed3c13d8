"""Source definitions: every shipped TOML loads, the merge order (shipped, sources.d, config),
strict validation with file and key in the message, and the definitions shipped in a built wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakwatch.errors import ConfigError
from leakwatch.settings import load_settings
from leakwatch.sources import DRIVERS
from leakwatch.sources.spec import load_file, load_specs, parse_duration, parse_spec, shipped_dir

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "sources").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_definition_loads_and_is_disabled(path: Path) -> None:
    spec = load_file(path)
    assert spec.name == path.stem
    assert spec.enabled is False  # no surprise network traffic
    assert spec.description
    spec.driver_params()


def test_shipped_definitions_cover_the_public_sources() -> None:
    specs = {p.stem: load_file(p) for p in SHIPPED}
    assert len(specs) >= 6
    drivers = {s.driver for s in specs.values()}
    assert drivers == set(DRIVERS)
    assert "whitelist" in specs["pastebin"].notes.lower()
    assert "hibp_api_key" in specs["hibp_domain"].notes


@pytest.mark.parametrize(("value", "seconds"), [(90, 90.0), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0),
                                                ("2d", 172800.0), ("1.5h", 5400.0)])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_definitions_and_config_merge_over_shipped_ones(home: Path) -> None:
    _write(home / "sources.d" / "ransomwatch.toml",
           'driver = "json_api"\ninterval = "15m"\n[params]\nurl = "https://mirror.example.net/posts.json"\n'
           'title = "post_title"\n')
    _write(home / "sources.d" / "intranet.toml",
           'name = "intranet_dumps"\ndriver = "html_index"\nenabled = true\n'
           '[params]\nurl = "https://dumps.example.org/"\nentry = "li a"\n')
    settings = load_settings(home=home, enabled_sources=["zataz"],
                             sources=[{"name": "hibp_domain", "enabled": True, "params": {"domains": ["example.fr"]}},
                                      {"name": "inline", "driver": "feed", "params": {"url": "https://x.example/rss"}}])
    specs = load_specs(settings)
    assert specs["ransomwatch"].interval == 900 and specs["ransomwatch"].params["url"].startswith("https://mirror")
    assert specs["intranet_dumps"].enabled
    assert specs["hibp_domain"].enabled and specs["hibp_domain"].params == {"domains": ["example.fr"]}
    assert specs["hibp_domain"].interval == 12 * 3600  # the rest of the shipped definition is kept
    assert specs["zataz"].enabled and specs["inline"].driver == "feed"
    assert not specs["pastebin"].enabled


@pytest.mark.parametrize(("text", "message"), [
    ('driver = "json_api"\n[params]\nurl = "u"\ntitel = "x"\n', "bad.toml: params.title: Field required"),
    ('driver = "json_api"\ninterval = "soon"\n[params]\nurl = "u"\ntitle = "t"\n', "bad.toml: interval: Value error"),
    ('driver = "nope"\n', "bad.toml: driver: unknown driver 'nope'"),
    ('driver = "feed"\nproxie = "socks5://127.0.0.1:9050"\n[params]\nurl = "u"\n', "bad.toml: proxie: Extra inputs"),
    ('driver = "feed"\n[params\n', "bad.toml: "),
    ('driver = "html_index"\n[params]\nurl = "u"\nentry = "a"\nkey_pattern = "no group"\n', "params.key_pattern"),
    ('driver = "json_api"\n[params]\nurl = "u"\ntitle = "t"\nheaders = { X-Api-Key = "abc" }\n',
     "bad.toml: params.headers: Value error, X-Api-Key: credentials go in the definition's auth"),
])
def test_bad_definitions_name_file_and_key(home: Path, text: str, message: str) -> None:
    _write(home / "sources.d" / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_specs(load_settings(home=home))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_enabling_an_unknown_source_is_an_error(home: Path) -> None:
    with pytest.raises(ConfigError, match="enabled_sources: no source named 'nope'"):
        load_specs(load_settings(home=home, enabled_sources=["nope"]))


def test_credentials_come_from_settings_not_from_the_file(home: Path) -> None:
    _write(home / "sources.d" / "private.toml",
           'driver = "json_api"\nauth = { secret = "intel", header = "X-Api-Key" }\n'
           '[params]\nurl = "https://intel.example.com/v1/victims"\ntitle = "name"\n')
    spec = load_specs(load_settings(home=home))["private"]
    assert spec.auth is not None and spec.auth.secret == "intel"


def test_a_built_package_carries_the_shipped_definitions(tmp_path: Path) -> None:
    """What a non-editable install gets: setup.py's build step copies sources/ into the package."""
    pytest.importorskip("setuptools", reason="building needs setuptools in this environment")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "sources", tree / "sources")
    shutil.copytree(ROOT / "leakwatch", tree / "leakwatch", ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "README.md").write_text("readme\n")
    built = tmp_path / "lib"
    env = {**os.environ, "SETUPTOOLS_USE_DISTUTILS": "local"}
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "-d", str(built)], cwd=tree, env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    copied = sorted(p.name for p in (built / "leakwatch" / "data" / "sources").glob("*.toml"))
    assert copied == [p.name for p in SHIPPED]
    probe = ("from leakwatch.sources.spec import shipped_dir, load_specs; from leakwatch.settings import load_settings;"
             "print(shipped_dir()); print(len(load_specs(load_settings())))")
    run_env = {**env, "PYTHONPATH": str(built), "LEAKWATCH_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=run_env, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    where, count = out.stdout.decode().split()
    assert Path(where) == built / "leakwatch" / "data" / "sources" and int(count) == len(SHIPPED)


def test_a_checkout_reads_the_root_sources_directory() -> None:
    assert shipped_dir() == ROOT / "sources"


def test_proxy_must_be_a_proxy_url(home: Path) -> None:
    _write(home / "sources.d" / "onion.toml", 'driver = "feed"\nproxy = "127.0.0.1:9050"\n[params]\nurl = "u"\n')
    with pytest.raises(ConfigError, match=r"onion\.toml: proxy: Value error, a proxy URL starts with"):
        load_specs(load_settings(home=home))
    _write(home / "sources.d" / "onion.toml", 'driver = "feed"\nproxy = "socks5h://127.0.0.1:9050"\n'
                                              '[params]\nurl = "http://fakeleaksiteaaaa.onion/rss"\n')
    assert load_specs(load_settings(home=home))["onion"].proxy == "socks5h://127.0.0.1:9050"


def test_every_toml_example_of_the_sources_doc_loads(home: Path) -> None:
    import re
    import tomllib

    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "docs" / "sources.md").read_text(), re.S)
    assert len(blocks) >= 4
    for block in blocks:
        data = tomllib.loads(block)
        if "driver" in data:
            parse_spec(data, "docs/sources.md")
        else:
            load_specs(load_settings(home=home, **data))


def test_params_written_at_the_top_of_a_table_as_users_write_them(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[[sources]]\nname = "drop"\ndriver = "folder"\npath = "/srv/leakwatch/drop"\ninterval = "30s"\n')
    monkeypatch.setenv("LEAKWATCH_HOME", str(home))
    spec = load_specs(load_settings())["drop"]
    assert spec.params["path"] == "/srv/leakwatch/drop" and spec.interval == 30
    with pytest.raises(ConfigError, match="path: given both at the top and in params"):
        parse_spec({"name": "x", "driver": "folder", "path": "a", "params": {"path": "b"}}, "here")
    with pytest.raises(ConfigError, match="pathh"):
        parse_spec({"name": "x", "driver": "folder", "pathh": "a"}, "here")
