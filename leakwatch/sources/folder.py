"""``folder``: a local drop folder where analysts put dumps they acquired.

Each file is scanned once, streamed (any size), then moved to ``done`` when the definition names
one, else only recorded as done (by path, size and modification time: a file replaced by another is
scanned again). Relative paths are under ``$LEAKWATCH_HOME``.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from leakwatch.detection import volumes
from leakwatch.errors import ConfigError
from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import SourceContext, log
from leakwatch.sources.http import FetchError
from leakwatch.sources.state import SourceState


class FolderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = "drop"
    done: str | None = None
    """Where scanned files are moved; none: they stay and are recorded as done."""
    pattern: str = "**/*"
    min_age: float = 5.0
    """Seconds since a file's last change before it is taken: a copy in progress is left alone."""


def _dir(home: Path, value: str) -> Path:
    """A folder setting: absolute, or relative to the home."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


class Folder:
    driver: ClassVar[str] = "folder"
    Params: ClassVar[type[BaseModel]] = FolderParams

    async def list_new(self, ctx: SourceContext, params: FolderParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        root = _dir(ctx.settings.home, params.path)
        if not root.is_dir():
            raise ConfigError(f"{ctx.spec.origin or ctx.spec.name}: params.path: {root} is not a directory")
        done = _dir(ctx.settings.home, params.done).resolve() if params.done else None
        now = time.time()
        files = []
        for path in root.glob(params.pattern):
            if not path.is_file() or path.name.startswith(".") or volumes.is_later_volume(path):
                continue  # a FIFO or device is not a file; x.7z.002 is read with x.7z.001
            if done is not None and done in path.resolve().parents:
                continue
            st = path.stat()
            if now - st.st_mtime < params.min_age:
                continue
            files.append((st.st_mtime_ns, str(path.relative_to(root)), st.st_size))
        for mtime_ns, rel, size in sorted(files):
            key = f"{rel}:{size}:{mtime_ns}"
            if state.seen(key):
                continue
            yield ItemRef(ctx.spec.name, key, title=rel, meta={"path": str(root / rel), "rel": rel})

    async def fetch(self, ctx: SourceContext, params: FolderParams, ref: ItemRef) -> Item:
        path = Path(ref.meta["path"])
        digest = hashlib.sha256()
        try:
            with volumes.open_volumes(path) as fh:
                for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                    digest.update(chunk)
            size = volumes.total_size(path)
        except OSError as exc:  # taken away since it was listed, or unreadable: not retried
            raise FetchError(f"file:{ref.meta['rel']}", f"cannot read: {exc.strerror}", kind="not_found") from None
        return Item(source=ref.source, key=ref.key, content=b"", name=ref.meta["rel"],
                    meta={"path": str(path), "sha256": digest.hexdigest(), "size": size})

    def done(self, ctx: SourceContext, params: FolderParams, item: Item) -> None:
        """After the item's transaction committed: move it out of the drop folder."""
        if params.done:
            move_done(ctx.settings.home, ctx.spec.name, params.done, item)


def move_done(home: Path, source: str, done: str, item: Item) -> None:
    """Move a scanned file to the ``done`` folder (relative to ``home``), keeping its relative path;
    a split archive's later volumes go with the first."""
    first = Path(item.meta["path"])
    rel = Path(item.name or first.name)
    base = _dir(home, done)
    for part in volumes.parts(first):
        target = base / rel.parent / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.move(part, target)
        except OSError as exc:
            log.warning("%s: cannot move %s to %s: %s", source, rel.parent / part.name, target.parent, exc.strerror)
