"""Keeps an AWS account id out of a notebook's outputs: it becomes ************.

The workbook's names carry the account id (the bucket, every ARN), and the notebooks print
names, policies and events on purpose. On AWS those outputs get saved, shared, pasted into
a forum: an account id is not a secret, but it is what an attacker needs first (to aim a
confused-deputy or a resource-policy mistake at the account), so the workbook does not publish
it. :func:`install` masks it in everything the kernel shows: text printed to stdout and
stderr, and the rich outputs of the cells (their text/plain, HTML, JSON...). The values
themselves are untouched, so the code still works with the real names.

The local cloud's account (123456789012) is AWS's documentation example and stays visible.
"""

from __future__ import annotations

import sys
from typing import Any

MASK = "*" * 12


def mask(text: str, account_id: str) -> str:
    """``text`` with every occurrence of the 12-digit ``account_id`` replaced by ************."""
    return text.replace(account_id, MASK) if account_id else text


def _masked(value: Any, account_id: str) -> Any:
    """A rich output (str, bytes, or dict/list of them, as IPython's format data) with the id masked."""
    if isinstance(value, str):
        return mask(value, account_id)
    if isinstance(value, dict):
        return {key: _masked(item, account_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, account_id) for item in value]
    return value


class _MaskingStream:
    """A text stream that masks what is written, and is otherwise the stream it wraps."""

    def __init__(self, stream: Any, account_id: str) -> None:
        self._stream, self._account_id = stream, account_id

    def write(self, text: str) -> int:
        self._stream.write(mask(text, self._account_id))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install(account_id: str) -> bool:
    """Mask ``account_id`` in this process's stdout and stderr, and in IPython's rich outputs.

    Idempotent; returns whether IPython's display formatter was wrapped (False outside a kernel).
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, _MaskingStream):
            setattr(sys, name, _MaskingStream(stream, account_id))
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter
    original = getattr(formatter, "_workbook_unmasked_format", None) or formatter.format

    def format_masked(obj: Any, include: Any = None, exclude: Any = None) -> Any:
        data, metadata = original(obj, include=include, exclude=exclude)
        return _masked(data, account_id), metadata

    formatter._workbook_unmasked_format = original
    formatter.format = format_masked
    # display() and the cell's last value both go through format; published data (e.g.
    # IPython.display.Image) goes through the display publisher: mask there too.
    publisher = shell.display_pub
    publish = getattr(publisher, "_workbook_unmasked_publish", None) or publisher.publish

    def publish_masked(data: Any, metadata: Any = None, **kwargs: Any) -> Any:
        return publish(_masked(data, account_id), metadata, **kwargs)

    publisher._workbook_unmasked_publish = publish
    publisher.publish = publish_masked
    # A failing cell's traceback (an AccessDenied names the ARN) is sent apart from stdout.
    show = getattr(shell, "_workbook_unmasked_showtraceback", None) or shell._showtraceback

    def show_masked(etype: Any, evalue: Any, stb: Any) -> Any:
        return show(etype, mask(str(evalue), account_id), _masked(list(stb), account_id))

    shell._workbook_unmasked_showtraceback = show
    shell._showtraceback = show_masked
    return True
