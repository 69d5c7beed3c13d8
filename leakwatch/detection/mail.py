"""E-mail as it leaks: a message saved whole (``.eml``) or a mailbox of many (mbox), the way a
compromised mailbox or a ransomware dump's ``Mail`` folder holds them.

Read as text, a message hides what matters: an attachment is base64 (a patient list sent as a CSV
or a spreadsheet reads as noise), a body in quoted-printable cuts words and numbers at its soft
line breaks (``=\\n``) and writes ``é`` as ``=C3=A9``. So each message is taken apart: its headers
(names and addresses of the sender and recipients, decoded), each text body decoded with its
charset, and each attachment expanded as any file is (an attached archive, spreadsheet or CSV is
read as such, under the same limits). A message or part that cannot be read is a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from leakwatch.models import Document, Skipped

if TYPE_CHECKING:
    from email.message import EmailMessage

KINDS = ("eml", "mbox")
_HEADER = re.compile(rb"([A-Za-z][A-Za-z0-9\-]{0,60}):[ \t]")
_SENDERS = frozenset({b"from", b"received", b"return-path", b"delivered-to", b"sender", b"x-sender"})
_MESSAGE = frozenset({b"date", b"message-id", b"mime-version", b"subject", b"to", b"content-type"})
_MBOX_FROM = re.compile(rb"^From \S+.*\d\d:\d\d", re.MULTILINE)
"""An mbox's separator line (``From sender@host Tue Dec  1 10:00:00 2026``); ``>From`` in a body is
escaped so and never one."""
MAX_HEADER_LINES = 60

Expand = Callable[[bytes, str], Iterator[Document | Skipped]]
"""How an attachment is read: its bytes and its name in the item (``documents``)."""


def sniff(head: bytes) -> str | None:
    """``mbox`` for a mailbox file, ``eml`` for one message: a block of headers at the start with a
    sender's (``From``, ``Received``...) and a message's (``Date``, ``Message-ID``, ``Subject``...),
    three known headers at least. A list of ``Nom: ...`` lines is none."""
    if head.startswith(b"From ") and _MBOX_FROM.match(head):
        first_end = head.find(b"\n")
        return "mbox" if first_end != -1 and sniff(head[first_end + 1 :]) == "eml" else None
    names: set[bytes] = set()
    for line in head.split(b"\n", MAX_HEADER_LINES)[:MAX_HEADER_LINES]:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):  # a folded header goes on
            continue
        m = _HEADER.match(line)
        if m is None:
            return None
        names.add(m.group(1).lower())
    known = names & (_SENDERS | _MESSAGE)
    return "eml" if names & _SENDERS and names & _MESSAGE and len(known) >= 3 else None


def messages(src: IO[bytes], kind: str, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Each message's bytes, numbered from 1; None for one larger than ``max_bytes`` (not kept)."""
    if kind == "eml":
        data = src.read(max_bytes + 1)
        yield 1, data if len(data) <= max_bytes else None
        return
    number, current, size, pending = 0, bytearray(), 0, b""
    while True:
        block = src.read(1 << 20)
        lines = (pending + block).split(b"\n")
        pending = lines.pop() if block else b""
        for line in lines:
            if line.startswith(b"From ") and _MBOX_FROM.match(line):
                if number:
                    yield number, bytes(current) if size <= max_bytes else None
                number, current, size = number + 1, bytearray(), 0
                continue
            size += len(line) + 1
            if size <= max_bytes:
                current += line + b"\n"
        if not block:
            break
    if number:
        yield number, bytes(current) if size <= max_bytes else None


def read(src: IO[bytes], kind: str, target: str, max_bytes: int, expand: Expand,
         title: str | None = None) -> Iterator[Document | Skipped]:
    """The documents of a message or a mailbox: per message its headers and text bodies, and its
    attachments through ``expand``."""
    for number, data in messages(src, kind, max_bytes):
        where = target if kind == "eml" else f"{target}!message-{number}"
        if data is None:
            yield Skipped(where, f"message larger than {max_bytes} bytes: not read")
            continue
        try:
            pieces, text = _take_apart(data, where)
        except (RecursionError, LookupError, ValueError, TypeError, AttributeError, IndexError) as exc:
            # the parser's own limits on a hostile message (nesting, broken MIME): said, not raised.
            # Only the parse is guarded: an attachment's reading (``expand``) raises as it would alone.
            yield Skipped(where, f"message not parsed ({exc.__class__.__name__})")
            continue
        for piece in pieces:
            if isinstance(piece, Skipped):
                yield piece
            else:
                yield from expand(piece[1], f"{where}!{piece[0]}")
        if text:
            yield Document(where, text + "\n", title)


def _take_apart(data: bytes, where: str) -> tuple[list[Skipped | tuple[str, bytes]], str]:
    """A message parsed whole: in order, what to expand (a name and its bytes: attachments, HTML
    bodies, forwarded messages) and notes; and the text of its headers and plain bodies. Held at
    once: the message is at most ``max_bytes``."""
    import email  # 30 ms of imports, for the scans that meet a message
    import email.policy
    from email.message import EmailMessage

    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        return [], ""
    heads = [f"{name}: {_header(message, name)}" for name in ("From", "To", "Cc", "Reply-To", "Subject", "Date")
             if message.get(name) is not None]
    texts = ["\n".join(heads)]
    pieces: list[Skipped | tuple[str, bytes]] = []
    for n, part in enumerate(_leaves(message)):
        filename = part.get_filename()
        content_type = part.get_content_type()
        if filename is None and content_type in ("text/plain", "text/html"):
            try:
                body = part.get_content()
            except (LookupError, ValueError) as exc:  # an unknown charset, a broken encoding
                pieces.append(Skipped(f"{where}!part-{n}", f"body not decoded ({exc.__class__.__name__})"))
                continue
            if content_type == "text/html":  # read as any page is: its visible text, its tables
                pieces.append((f"body-{n}.html", body.encode("utf-8")))
            else:
                texts.append(body)
            continue
        if content_type == "message/rfc822":  # a forwarded message: read as a file of its own, one level deeper
            inner = part.get_content()
            payload = inner.as_bytes() if hasattr(inner, "as_bytes") else None
        else:
            payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        subtype = "eml" if content_type == "message/rfc822" else part.get_content_subtype()
        pieces.append((_safe_name(filename or f"part-{n}.{subtype}"), payload))
    return pieces, "\n\n".join(t for t in texts if t and t.strip())


def _leaves(part: EmailMessage) -> Iterator[EmailMessage]:
    """The parts of a message that hold content, in order: a forwarded message (``message/rfc822``)
    is one, read as a file of its own (one level deeper, under the depth limit), not entered."""
    if part.is_multipart() and part.get_content_type() != "message/rfc822":
        for sub in part.iter_parts():
            yield from _leaves(sub)  # type: ignore[arg-type]
    else:
        yield part


def _header(message: EmailMessage, name: str) -> str:
    """A header's value, its encoded words (``=?utf-8?q?J=C3=A9r=C3=B4me?=``) decoded."""
    try:
        return str(message.get(name, ""))
    except (LookupError, ValueError, IndexError):  # a header the parser cannot decode: as written
        return str(message.get_all(name, [""])[0])


def _safe_name(name: str) -> str:
    """An attachment's name as a part of a target: one line, no ``!`` (the member separator)."""
    return " ".join(name.replace("!", "_").split())[:200] or "attachment"
