"""The master key: created once, kept apart from the database, never logged.

Subkeys are derived per dataset and kind (HMAC-SHA256 with a versioned label) and never stored,
so a stolen database cannot link one dataset's or one kind's fingerprints to another's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from leakwatch.errors import ConfigError

KEY_BYTES = 32
CREDENTIAL_NAME = "leakwatch-key"
LABEL = b"leakwatch/v1/"


def key_path(home: Path, override: Path | None) -> Path:
    """Where the key lives: the setting, else a systemd credential, else ``$LEAKWATCH_HOME/key``."""
    if override is not None:
        return override
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / CREDENTIAL_NAME).exists():
        return Path(creds) / CREDENTIAL_NAME
    return home / "key"


def check_permissions(path: Path) -> None:
    """Refuse a key file that group or others can read or write."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: key file is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )


def create_key(path: Path) -> bool:
    """Create a random key at ``path`` (mode 0600). Returns False when one already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the key file: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(KEY_BYTES))
        fh.flush()
        os.fsync(fh.fileno())
    return True


def load_key(path: Path) -> bytes:
    if not path.exists():
        raise ConfigError(f"{path}: no key file; run: leakwatch init")
    # O_NONBLOCK: a FIFO or a device put in its place fails here instead of hanging the read
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key file: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ConfigError(f"{path}: the key file is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        check_permissions(path)
        data = fh.read(KEY_BYTES + 1)
    if len(data) != KEY_BYTES:
        raise ConfigError(f"{path}: key file must hold {KEY_BYTES} bytes, found {info.st_size}")
    return data


def derive(master: bytes, dataset: str, kind: str) -> bytes:
    """Subkey for one dataset and one kind: HMAC-SHA256(master, "leakwatch/v1/<dataset>/<kind>")."""
    return hmac.new(master, LABEL + f"{dataset}/{kind}".encode(), hashlib.sha256).digest()
