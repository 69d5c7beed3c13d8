"""The master key: created once, kept apart from the database, never logged; versioned by rotation.

Subkeys are derived per dataset and kind (HMAC-SHA256 with a versioned label) and never stored,
so a stolen database cannot link one dataset's or one kind's fingerprints to another's.

The key file is a keyring: one or more key versions, the highest being the current one (new
imports use it; older versions serve the datasets fingerprinted under them until they are
re-imported). Two forms are read:

- 32 raw bytes (what ``leakwatch init`` writes, or ``head -c 32 /dev/urandom``): version 1 alone;
- text, written by ``leakwatch key rotate``: a ``leakwatch-keyring 1`` line, then one line per
  version, ``VERSION HEX_KEY CREATED`` (``#`` comments and blank lines ignored).

Either form fits a systemd credential (``LoadCredential=leakwatch-key:/etc/leakwatch/key``). The
database keeps, per dataset, the key version and a key check (a MAC of a fixed label under a
subkey), never the key: a different key is refused instead of silently matching nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakwatch.errors import ConfigError

KEY_BYTES = 32
CREDENTIAL_NAME = "leakwatch-key"
LABEL = b"leakwatch/v1/"
KEYRING_MAGIC = "leakwatch-keyring 1"
CHECK_LABEL = b"leakwatch/key-check/v1"
ID_LABEL = b"leakwatch/key-id/v1"
_LINE = re.compile(r"^(\d{1,6})\s+([0-9a-fA-F]{64})(?:\s+(\S+))?\s*$")
HINT = (f"point LEAKWATCH_KEY_FILE, or the systemd credential {CREDENTIAL_NAME}, at the right key "
        "(leakwatch key show prints a key file's id)")


class KeyMismatch(ConfigError):
    """The key read is not the one the database's fingerprints were made with."""


def key_path(home: Path, override: Path | None) -> Path:
    """Where the key lives: the setting, else a systemd credential, else ``$LEAKWATCH_HOME/key``."""
    return key_source(home, override)[0]


def key_source(home: Path, override: Path | None) -> tuple[Path, str]:
    """The key's path and where that path came from, for messages."""
    if override is not None:
        return override, "LEAKWATCH_KEY_FILE"
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / CREDENTIAL_NAME).exists():
        return Path(creds) / CREDENTIAL_NAME, f"systemd credential {CREDENTIAL_NAME}"
    return home / "key", "default key file"


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
    """The current key version's secret."""
    return load_keyring(path).current.secret


def derive(master: bytes, dataset: str, kind: str) -> bytes:
    """Subkey for one dataset and one kind: HMAC-SHA256(master, "leakwatch/v1/<dataset>/<kind>")."""
    return hmac.new(master, LABEL + f"{dataset}/{kind}".encode(), hashlib.sha256).digest()


# ---- versions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One key version. ``check`` and ``key_id`` are MACs of fixed labels: they reveal nothing of
    the key, and two keys give two different ones."""

    version: int
    secret: bytes = field(repr=False)
    created: str = ""

    @property
    def check(self) -> str:
        """What the database stores per dataset: HMAC(subkey "_key/check", fixed label)."""
        return hmac.new(derive(self.secret, "_key", "check"), CHECK_LABEL, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """A short name for the key, safe to print and log (48 bits of another MAC)."""
        return hmac.new(derive(self.secret, "_key", "id"), ID_LABEL, hashlib.sha256).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    path: Path
    origin: str
    keys: tuple[Key, ...]
    """By version, ascending; never empty."""

    @property
    def current(self) -> Key:
        return self.keys[-1]

    def get(self, version: int) -> Key | None:
        return next((k for k in self.keys if k.version == version), None)

    def secret(self, version: int) -> bytes:
        key = self.get(version)
        if key is None:
            raise KeyMismatch(f"{self.describe()} has no key version {version} "
                              f"(it holds {self.versions()}); {HINT}")
        return key.secret

    def versions(self) -> str:
        return ", ".join(f"v{k.version} id {k.key_id}" for k in self.keys)

    def describe(self) -> str:
        return f"{self.path} ({self.origin})"

    @property
    def read_only(self) -> bool:
        return self.origin.startswith("systemd credential")


MAX_KEYRING_BYTES = 64 * 1024


def load_keyring(path: Path, origin: str = "") -> Keyring:
    if not path.exists():
        raise ConfigError(f"{path}: no key file; run: leakwatch init")
    # O_NONBLOCK: a FIFO or a device put in its place fails here instead of hanging the read
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key file: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(f"{path}: the key file is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        check_permissions(path)
        data = fh.read(MAX_KEYRING_BYTES + 1)
    if len(data) > MAX_KEYRING_BYTES:
        raise ConfigError(f"{path}: the key file is larger than {MAX_KEYRING_BYTES} bytes")
    return Keyring(path, origin or "key file", parse_keyring(path, data))


def parse_keyring(path: Path, data: bytes) -> tuple[Key, ...]:
    """The versions of a key file; errors name the line, never its content."""
    if not data.startswith(KEYRING_MAGIC.encode()):
        if len(data) != KEY_BYTES:
            raise ConfigError(f"{path}: key file must hold {KEY_BYTES} bytes or be a leakwatch keyring, "
                              f"found {len(data)} bytes")
        return (Key(1, data),)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: keyring is not ASCII text") from None
    found: dict[int, Key] = {}
    for n, line in enumerate(text.splitlines()[1:], 2):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise ConfigError(f"{path}:{n}: expected VERSION HEX_KEY (64 hex digits) [CREATED]")
        version = int(m.group(1))
        if version < 1 or version in found:
            raise ConfigError(f"{path}:{n}: key version {version} is {'repeated' if version in found else 'invalid'}")
        found[version] = Key(version, bytes.fromhex(m.group(2)), "" if m.group(3) in (None, "-") else m.group(3))
    if not found:
        raise ConfigError(f"{path}: keyring holds no key")
    return tuple(found[v] for v in sorted(found))


def format_keyring(keys: tuple[Key, ...]) -> bytes:
    lines = [KEYRING_MAGIC,
             "# leakwatch keyring: VERSION HEX_KEY CREATED, one key version per line; the highest is",
             "# current. Keep it mode 0600, off the database's volume. Manage it with: leakwatch key --help"]
    lines += [f"{k.version} {k.secret.hex()} {k.created or '-'}" for k in keys]
    return ("\n".join(lines) + "\n").encode("ascii")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the key file's directory: one rotation or retirement at a time."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_keyring(path: Path, keys: tuple[Key, ...]) -> None:
    """Replace the key file atomically (a 0600 temporary file beside it, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(format_keyring(keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def new_key(version: int, created: str) -> Key:
    return Key(version, secrets.token_bytes(KEY_BYTES), created)
