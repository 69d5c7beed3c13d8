"""Only a build step pyproject.toml cannot declare: the shipped source definitions live in the
repository's ``sources/`` (data, next to the code that reads it) and are copied into the package
as ``leakwatch/data/sources`` when a wheel is built. An editable install reads ``sources/`` directly
(see ``leakwatch.sources.spec.shipped_dir``)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithSources(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "leakwatch" / "data" / "sources"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted((ROOT / "sources").glob("*.toml")):
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithSources})
