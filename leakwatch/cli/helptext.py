"""Help texts that fit the terminal: docstrings are wrapped at the source's width, and typer keeps
their line breaks, so on an 80-column terminal every line wrapped again and left a ragged stub.
Each paragraph of plain sentences is made one line for rich to wrap; examples, lists and indented
lines keep their breaks."""

from __future__ import annotations

import inspect
import re

import typer

_LITERAL = re.compile(r"``([^`]+)``")
"""A docstring's literal (``ok``): on a terminal, the word alone."""
_KEEP = re.compile(r"^(?:\s|\x08|[-*•] |\d+[.)] )")
"""A line that starts an example, an indented block or a list item: its paragraph keeps its breaks."""


def reflow(text: str) -> str:
    """``text`` with each paragraph of plain lines joined into one line, and literals unquoted
    (what follows a ``\\f``, typer's end of help, is left as it is)."""
    head, cut, tail = inspect.cleandoc(text).partition("\f")
    head = _LITERAL.sub(r"\1", head)
    paragraphs = []
    for paragraph in head.split("\n\n"):
        lines = paragraph.split("\n")
        paragraphs.append(paragraph if any(_KEEP.match(line) for line in lines)
                          else " ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs) + cut + tail


def reflow_app(app: typer.Typer) -> None:
    """Reflow the help of ``app``, its callback, its commands and its groups', recursively."""
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    callback = app.registered_callback
    if callback is not None and callback.callback is not None and not isinstance(callback.help, str):
        doc = inspect.getdoc(callback.callback)
        if doc:
            callback.help = reflow(doc)
    for command in app.registered_commands:
        doc = command.help if isinstance(command.help, str) else inspect.getdoc(command.callback)
        if doc:
            command.help = reflow(doc)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow(group.help)
        if group.typer_instance is not None:
            reflow_app(group.typer_instance)
