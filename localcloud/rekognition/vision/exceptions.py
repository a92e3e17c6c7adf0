"""Why the vision model cannot run, with the fix in the message.

One exception type for every cause (package missing, file corrupt, runtime missing), so a
caller catches one thing and shows its message: each message names what is wrong and the
command that fixes it. A package that is missing altogether is the subclass
``ModelNotInstalled``: the local cloud still starts then, and DetectLabels says what to
install. Nothing in the package falls back to fake labels on these errors.
"""

from __future__ import annotations

MAKE_SETUP = "run `make setup`"


class ModelUnavailable(Exception):
    """The pretrained classifier cannot be loaded; the message says why and how to fix it."""


class ModelNotInstalled(ModelUnavailable):
    """A package the model needs is not installed at all, as after ``pip install .`` without the
    ``vision`` extra and the weights: a choice of install, not a broken one."""
