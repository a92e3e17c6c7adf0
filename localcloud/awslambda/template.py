"""The template process that execution environments are forked from.

Started once per local cloud (by ``forkserver.py``) as
``python -I -S -u template.py CONTROL_FD RUNTIME_DIR CACHE_DIR``. It imports the runtime
(``bootstrap.py``) and boto3, as every Python handler's environment would, and then only
forks: a cold start costs a ``fork()`` and the handler's own module-level code, not a new
interpreter importing boto3 again (about 0.15-0.5 s of CPU each).

Each request on the control socket (a ``SOCK_SEQPACKET`` socket pair, one message per
request, file descriptors passed with it) carries the environment's configuration, its
variables, its working folder and three descriptors: its log file (fd 1 and 2), the
request pipe and the response pipe. The child becomes that environment and serves
``bootstrap.serve``; the template answers ``{"pid": ...}`` and later, when the child ends,
``{"exit": pid, "code": ...}`` (``Popen.returncode``'s convention: negative for a signal).

What a forked environment shares with a freshly started one: the handler sees only its
package, its layers, the standard library and boto3 (preloaded copies of boto3 and its
dependencies are dropped from ``sys.modules`` when the package or a layer brings its own, so
those import from the package as on Lambda); module-level code runs once per environment,
in the child. What differs: the environments of one local cloud share the template's hash
seed (``PYTHONHASHSEED``), and the pages the template loaded are shared copy-on-write.

Single-threaded on purpose: ``fork()`` copies only the calling thread, so a template with
other threads could hand a child a lock held forever. Standard library only before the
preload, like ``bootstrap.py``.
"""

import gc
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import traceback

# What an environment would import anyway: the runtime's modules and boto3 with what a client needs.
PRELOAD = ("boto3", "boto3.session", "boto3.s3.inject", "botocore.client", "botocore.httpsession",
           "s3transfer.subscribers")
# The services the workbook's functions make clients for at module level. Making a client parses
# its service model, endpoint rules and partitions (about 0.1 s of JSON per client): the template
# parses them once, and each environment takes each parsed file at most once (see _preparse).
PREPARSED_SERVICES = ("s3", "dynamodb", "stepfunctions", "rekognition")
PARSED = {}  # file path without extension -> what botocore's JSON loader would return
MAX_MESSAGE = 1 << 20  # an environment's variables are at most 4 KB on Lambda; credentials and config add little
MAX_FDS = 3
WATCH_SECONDS = 0.5


def _load_bootstrap():
    # Under a name no handler module can have, so a handler called bootstrap.py still imports its own.
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")
    spec = importlib.util.spec_from_file_location("_localcloud_bootstrap", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _preload(runtime_dir):
    """Import boto3 and its dependencies, parse the models; returns the modules the preload added."""
    before = set(sys.modules)
    sys.path[:] = [runtime_dir] + [p for p in sys.path if p]
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an older boto3 without one of them: the child imports what it needs
            pass
    _preparse(PREPARSED_SERVICES)
    sys.path.remove(runtime_dir)
    return sorted(set(sys.modules) - before)


def _preparse(services):
    """Parse the JSON files that making these clients reads; returns how many.

    botocore's ``JSONFileLoader.load_file`` then hands each parsed file out once, and reads the
    file as before for any later load: botocore changes some of what it loads (it merges
    customisations into service models), so no two loads in one environment share an object.
    """
    try:
        import boto3.session
        from botocore import loaders
    except ImportError:
        return 0
    original = loaders.JSONFileLoader.load_file
    paths = []

    def recording(self, file_path):
        paths.append(file_path)
        return original(self, file_path)

    loaders.JSONFileLoader.load_file = recording
    try:
        session = boto3.session.Session(aws_access_key_id="template", aws_secret_access_key="template",
                                        region_name="us-east-1")
        for service in services:
            try:
                session.client(service)
                if service == "dynamodb":
                    session.resource(service)  # boto3's resource model, as Table() needs
            except Exception:  # an older botocore without the service: its functions parse as usual
                pass
    finally:
        loaders.JSONFileLoader.load_file = original
    for path in dict.fromkeys(paths):
        data = original(loaders.JSONFileLoader(), path)
        if data is not None:
            PARSED[path] = data

    def load_file(self, file_path):
        data = PARSED.pop(file_path, None)
        return data if data is not None else original(self, file_path)

    loaders.JSONFileLoader.load_file = load_file
    return len(PARSED)


def _top_level_names(folders):
    names = set()
    for folder in folders:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            names.add(entry.split(".", 1)[0])
    return names


def _drop_shadowed(preloaded, function_paths):
    """Forget every preloaded module when the function's package or layers bring one of them.

    All of them, not only the shadowed one: a preloaded botocore holding the template's
    urllib3 while the package ships its own is a mix no Lambda environment would have.
    """
    ours = {name.split(".", 1)[0] for name in preloaded}
    if ours & _top_level_names(function_paths):
        for name in preloaded:
            sys.modules.pop(name, None)


def _become_environment(bootstrap, message, fds, control, preloaded, template_pid):
    """In the child: take the environment's descriptors, variables and folder, then serve."""
    output, request_fd, response_fd = fds
    control.close()
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.environ.clear()
    os.environ.update(message["env"])
    import time

    time.tzset()  # TZ changed with the environment
    config = dict(message["config"], parent_pid=template_pid)
    runtime_paths = set(message["runtime_paths"])
    _drop_shadowed(preloaded, [p for p in config["sys_path"] if p not in runtime_paths])
    sys.argv = [bootstrap.__file__]
    return bootstrap.serve(request_fd, response_fd, config)


def _exit_status(code):
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def _reap(control):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _send(control, doc):
    control.sendmsg([json.dumps(doc).encode()])


def main():
    control_fd, runtime_dir = int(sys.argv[1]), sys.argv[2]
    parent_pid = os.getppid()
    bootstrap = _load_bootstrap()
    # Only the signal, not bootstrap's watchdog thread: the template must stay single-threaded.
    bootstrap.ask_for_parent_death_signal()
    if os.getppid() != parent_pid:  # the server died before the signal was asked for
        os._exit(1)
    control = socket.socket(fileno=control_fd)
    preloaded = _preload(runtime_dir)
    # Out of the collector's sight: a collection in an environment would otherwise write to every
    # object's header and copy the pages it shares with the template.
    gc.collect()
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd hears of exits
    _send(control, {"ready": os.getpid(), "preloaded": len(preloaded)})
    while True:
        ready, _, _ = select.select([control, wake_r], [], [], WATCH_SECONDS)
        if os.getppid() != parent_pid:  # the local cloud is gone: so are we (and our children)
            os._exit(0)
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(control)
        if control not in ready:
            continue
        data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, MAX_FDS)
        if not data:
            os._exit(0)  # the server closed its end
        message = json.loads(data)
        template_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # Stop listening for the template's children before the pipe it writes to goes.
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_r)
                os.close(wake_w)
                code = _become_environment(bootstrap, message, fds, control, preloaded, template_pid)
            except SystemExit as exc:  # sys.exit() in the handler: the exit status an interpreter would give
                code = _exit_status(exc.code)
            except BaseException:
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code if isinstance(code, int) else 1)
        for fd in fds:
            os.close(fd)
        _send(control, {"id": message["id"], "pid": pid})


if __name__ == "__main__":
    main()
