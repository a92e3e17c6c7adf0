"""Where the local cloud listens and keeps its state.

Everything that varies between two local clouds on one machine (port, state folder)
is derived here, so a test suite can run its own instance beside a learner's, and two
learners on one shared server each get their own:

- the state folder is the checkout's ``.localcloud/`` when the package runs from a source
  checkout that is the user's own, else (installed with pip, or someone else's checkout) a
  per-user folder (``$XDG_STATE_HOME/workbook-localcloud``, by default
  ``~/.local/state/workbook-localcloud``); ``LOCALCLOUD_HOME`` overrides both. It is created
  0700: it holds the instance key, every function's code and logs.
- the port is ``LOCALCLOUD_PORT`` when set; otherwise the one recorded in the state folder
  (``port``) by the last ``start``, else 4566. ``start`` records the first free port from
  4566 up when the one it would use is held by someone else (another learner's local cloud).
"""

from __future__ import annotations

import os
from pathlib import Path

HOST = "127.0.0.1"  # loopback only; every AWS call must also be signed with the instance's key
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
# moto's default account; notebooks sanitize it and the pre-stop check allows it.
ACCOUNT_ID = "123456789012"
PORT_RANGE = 200  # how far above DEFAULT_PORT ``start`` looks for a free port
PORT_FILE = "port"


class StateFolderError(RuntimeError):
    """The state folder cannot be this user's own; the message says what to do."""

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def source_checkout() -> Path | None:
    """The source tree this package runs from, or None when it is installed (in site-packages).

    A checkout has the project's ``pyproject.toml`` beside the package; site-packages never does.
    """
    return _PACKAGE_PARENT if (_PACKAGE_PARENT / "pyproject.toml").is_file() else None


def port_is_explicit() -> bool:
    return bool(os.environ.get("LOCALCLOUD_PORT"))


def default_port() -> int:
    if port_is_explicit():
        return int(os.environ["LOCALCLOUD_PORT"])
    return recorded_port() or DEFAULT_PORT


def recorded_port() -> int | None:
    try:
        return int((state_root() / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def record_port(port: int) -> None:
    private_dir(state_root())
    (state_root() / PORT_FILE).write_text(f"{port}\n")


def endpoint_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def _owned_by_me(path: Path) -> bool:
    try:
        return path.stat().st_uid == os.getuid()
    except OSError:
        return False


def state_root() -> Path:
    """Folder holding every instance's key, pid file, log and Lambda code (git-ignored in a checkout)."""
    explicit = os.environ.get("LOCALCLOUD_HOME")
    return Path(explicit) if explicit else _users_state_root()


def _users_state_root() -> Path:
    checkout = source_checkout()
    if checkout is not None and _owned_by_me(checkout):
        return checkout / ".localcloud"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "workbook-localcloud"


def private_dir(folder: Path) -> Path:
    """Create ``folder`` (and parents) readable by this user only; refuse one owned by someone else."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _owned_by_me(folder):
        raise StateFolderError(
            f"{folder} belongs to another user; set LOCALCLOUD_HOME to a folder of your own")
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)  # made before this rule, or by a umask-less mkdir
    return folder


def instance_dir(port: int) -> Path:
    return state_root() / str(port)


def model_cache_dir() -> Path:
    """Git-ignored folder holding the vision model converted to ONNX, shared by every instance.

    Apart from ``state_root()`` on purpose: test suites give each local cloud a fresh state
    folder, and none of them should convert the model again.
    """
    explicit = os.environ.get("LOCALCLOUD_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    return _users_state_root() / "models"
