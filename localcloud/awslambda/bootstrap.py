"""The runtime inside one Lambda execution environment.

Forked from the template process (``template.py``, which calls :func:`serve`), or started
by ``runtime.py`` as ``python -I -S -u bootstrap.py REQ_FD RESP_FD CONFIG_JSON`` where there
is no fork server: either way isolated from the workbook's virtual environment, so the
handler sees only what Lambda gives it (its package, its layers, the standard library and
boto3). It imports the handler once (the init phase), then answers invocations one at a
time over two pipes with length-prefixed JSON frames; what the handler prints goes to fd
1/2, which the parent points at this environment's log file.

Error documents follow awslambdaric's shapes, so callers (Step Functions Retry/Catch,
API Gateway) see what they would see on AWS. Standard library only: this file runs
before any import path but the stdlib exists.
"""

import importlib
import json
import logging
import os
import resource
import signal
import struct
import sys
import threading
import time
import traceback

_HEADER = struct.Struct(">I")


def _read_exact(fd, size):
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return json.loads(_read_exact(fd, size))


def write_frame(fd, doc):
    data = json.dumps(doc).encode()
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


class LambdaContext:
    """The context object Lambda passes as the handler's second argument."""

    def __init__(self, request, config):
        self.aws_request_id = request["request_id"]
        self.function_name = config["function_name"]
        self.function_version = config["function_version"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.memory_limit_in_mb = config["memory_mb"]
        self.log_group_name = config["log_group_name"]
        self.log_stream_name = config["log_stream_name"]
        self.identity = None
        self.client_context = request.get("client_context")
        self._deadline_ms = request["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


_REQUEST_ID = _RequestIdFilter()


def _install_logging():
    # Lambda's Python runtime puts this handler on the root logger and leaves its level
    # at WARNING, so logger.info() shows only once the function sets a level itself.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime
    handler.addFilter(_REQUEST_ID)
    logging.getLogger().addHandler(handler)


def _error(error_type, message, stack=None, request_id=""):
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}


def _stack(tb):
    # Only the function's own frames, as Lambda shows them: not this file's, not importlib's.
    frames = [
        f for f in traceback.extract_tb(tb)
        if f.filename != __file__ and not f.filename.startswith("<frozen importlib")
    ]
    return traceback.format_list(frames)


def _log_exception(doc):
    # One CloudWatch event per error: Lambda joins the traceback lines with \r.
    lines = [f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", "Traceback (most recent call last):"]
    lines += [frame.rstrip("\n").replace("\n", "\r") for frame in doc["stackTrace"]]
    print("\r".join(lines), flush=True)


def load_handler(handler_name):
    """Import the handler as awslambdaric does; returns (callable, None) or (None, error doc)."""
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as exc:
        return None, _error("Runtime.MalformedHandlerName", f"Bad handler '{handler_name}': {exc}")
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            return None, _error(
                "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return None, _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        return None, _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace)
    except Exception as exc:  # module-level code failed: reported under its own class name
        return None, _error(type(exc).__name__, str(exc), _stack(exc.__traceback__))
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, _error("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler, None


PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 0.5


def ask_for_parent_death_signal():
    """Have the kernel SIGKILL this process when the thread that started it ends (Linux only)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def _die_with_parent(parent_pid):
    """End this environment when the local cloud that started it goes, however it goes.

    The kernel's parent-death signal covers a server killed with SIGKILL; it is tied to the
    thread that started us, which is why the server starts workers from one long-lived
    thread (``workers.py``). The watchdog covers the rest: a platform without prctl, and a
    server that died before the prctl call below (then our parent is already someone else).
    """
    ask_for_parent_death_signal()
    if parent_pid is None:
        return

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(WATCHDOG_SECONDS)

    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, name="localcloud-watchdog", daemon=True).start()


def _max_memory_mb():
    """Peak resident memory of this process since exec, in MB: Lambda's "Max Memory Used".

    Not ``ru_maxrss``: Linux carries it across exec from the mm this process was forked or
    vforked from, so it reports the local cloud's own peak (hundreds of MB) instead.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def invoke(handler, request, config):
    context = LambdaContext(request, config)
    _REQUEST_ID.request_id = context.aws_request_id
    try:
        event = json.loads(request["payload"])
    except ValueError as exc:
        return {"ok": False, "error": _error("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}")}
    try:
        result = handler(event, context)
    except Exception as exc:
        doc = _error(type(exc).__name__, str(exc), _stack(exc.__traceback__), context.aws_request_id)
        _log_exception(doc)
        return {"ok": False, "error": doc}
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        doc = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id=context.aws_request_id)
        _log_exception(doc)
        return {"ok": False, "error": doc}
    return {"ok": True, "payload": payload}


def main():
    return serve(int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]))


def serve(request_fd, response_fd, config):
    """Be one execution environment: init, then invocations until the request pipe closes.

    Called by :func:`main` in a process of its own, or by ``template.py`` in a forked child.
    """
    _die_with_parent(config.get("parent_pid"))
    # Python 3.10's -I still puts this file's folder first; the handler must not see it.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = config["sys_path"] + [p for p in sys.path if p and os.path.abspath(p) != here]
    os.chdir(config["task_root"])
    _install_logging()

    started = time.perf_counter()
    handler, init_error = load_handler(config["handler"])
    init_ms = (time.perf_counter() - started) * 1000
    if init_error:
        _log_exception(init_error)
    sys.stdout.flush()
    sys.stderr.flush()
    write_frame(response_fd, {"init_ms": init_ms, "error": init_error, "max_memory_mb": _max_memory_mb()})
    if init_error:
        return 1
    while True:
        try:
            request = read_frame(request_fd)
        except EOFError:
            return 0
        response = invoke(handler, request, config)
        sys.stdout.flush()
        sys.stderr.flush()
        response["max_memory_mb"] = _max_memory_mb()
        write_frame(response_fd, response)


if __name__ == "__main__":
    sys.exit(main())
