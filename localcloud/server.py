"""The local cloud's HTTP front door.

One WSGI application on one port. First the front door's checks (``auth/gate.py``): a
request for a Host other than the loopback is refused (DNS rebinding), the local cloud's
own endpoints answer only programs holding the instance key, and every AWS API call must
be SigV4-signed by a key this instance accepts, except the API Gateway data plane, open as
on AWS. Then requests the project emulates itself (admin, the API Gateway data plane,
Lambda Invoke) are routed to its own handlers; a call signed with a role's (or an IAM user's)
credentials is first held to that principal's policies (``iam/``); everything else goes to moto's server,
which keeps the state of every service. Before any of them, a signed request that an
injected fault rule matches (``faults.py``) is answered with that error. Before moto, a
browser-style POST object upload is held to its signed policy (``s3/post.py``).

Before it serves, the server installs every service's hooks into moto (:func:`install_moto_hooks`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server

from . import config, faults, hooks, lazy_imports
from .auth import credentials
from .auth.gate import Gate

log = logging.getLogger("localcloud")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Each route: (method or None for any, compiled path pattern, handler factory name).
_EXECUTE_API = re.compile(r"^/_aws/execute-api/(?P<api_id>[^/]+)/(?P<stage>[^/]+)(?P<path>/.*)?$")
_USER_REQUEST = re.compile(
    r"^/restapis/(?P<api_id>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$"
)
_LAMBDA_INVOKE = re.compile(r"^/(?P<api_version>[^/]+)/functions/(?P<function>.+)/invocations/?$")


# Where later checks (the S3 POST policy's signature) find the gate.
GATE_ENVIRON_KEY = "localcloud.gate"


class LocalCloudApp:
    """Routes a request to the project's emulation or to moto."""

    def __init__(self, port: int, key: credentials.Credentials) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        from . import admin
        from .apigateway import responses as apigateway_responses
        from .awslambda import limits as lambda_limits
        from .awslambda import responses as lambda_responses
        from .iam import enforce as iam_enforce
        from .s3 import post as s3_post

        install_moto_hooks(port, key)
        self.port = port
        self.gate = Gate(port, credentials.Keyring(key))
        self.moto = _moto_dispatcher()(create_backend_app)
        self.admin = admin.AdminApp(port, key.secret_access_key)
        self.lambda_upload_check = lambda_limits.check_request
        self.s3_post_target = s3_post.target_bucket
        self.s3_post_form_key = s3_post.FORM_ENVIRON_KEY
        self.execute_api = apigateway_responses.ExecuteApiApp(port)
        self.lambda_invoke = lambda_responses.InvokeApp()
        self.s3_post_check = s3_post.check
        self.s3_post_iam_check = s3_post.refuse_unauthorised_signer
        self.iam = iam_enforce.ENFORCER
        self.s3_notification_check = _s3_notification_check

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        try:
            return self._route(environ, start_response)
        except Exception as exc:  # a bug of ours: answer as AWS's own 500 would, and log it
            log.exception("internal error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            body = json.dumps({"__type": "ServiceException", "message": f"local cloud internal error: {exc}"})
            start_response("500 Internal Server Error", [("Content-Type", "application/json"),
                                                         ("x-amzn-ErrorType", "ServiceException")])
            return [body.encode()]

    def _route(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        refused = self.gate.refuse_host(environ, start_response)
        if refused is not None:
            return refused
        if path.startswith("/_localcloud/"):
            return self.gate.refuse_admin(environ, start_response) or self.admin(environ, start_response)
        refused = self.lambda_upload_check(environ, start_response)  # Lambda's own 413, body unread
        if refused is not None:
            return refused
        if self.gate.needs_signature(environ):
            is_post_upload = self.s3_post_target(environ) is not None
            refused = self.gate.refuse_unsigned(environ, start_response, is_post_upload=is_post_upload)
            if refused is not None:
                return refused
        environ[GATE_ENVIRON_KEY] = self.gate
        refused = self.iam.refuse(environ, start_response)  # the caller's role may not do this
        if refused is not None:
            return refused
        refused = self.s3_notification_check(environ, start_response)
        if refused is not None:
            return refused
        failed = faults.maybe_fail(environ, start_response)
        if failed is not None:
            return failed
        match = _EXECUTE_API.match(path) or _USER_REQUEST.match(path)
        if match:
            return self.execute_api(environ, start_response, **match.groupdict())
        match = _LAMBDA_INVOKE.match(path)
        if match and method == "POST":
            return self.lambda_invoke(environ, start_response, match["function"])
        refused = self.s3_post_check(environ, start_response)
        if refused is not None:
            return refused
        post = environ.get(self.s3_post_form_key)
        if post is not None:  # a browser POST upload: its form carries the signature
            refused = self.gate.refuse_post_upload(environ, start_response, post.expanded(), post.raw("policy"))
            if refused is not None:
                return refused
            refused = self.s3_post_iam_check(environ, start_response, post)
            if refused is not None:
                return refused
        return self.moto(environ, start_response)


def moto_hooks() -> list[hooks.Entry]:
    """Every service's hooks, in the order they are installed. Imports the service packages, which
    import moto: the server calls this only once :func:`lazy_imports.defer` has run."""
    from . import apigateway, awslambda, rekognition, s3, stepfunctions

    return [*lazy_imports.HOOKS, *awslambda.HOOKS, *stepfunctions.HOOKS, *apigateway.HOOKS, *rekognition.HOOKS,
            *s3.HOOKS]


def install_moto_hooks(port: int, key: credentials.Credentials) -> None:
    """Configure moto and install every service's hooks (once, as the server starts).

    Raises ``hooks.MotoShapeChanged``, and nothing is replaced, when a hook no longer fits moto;
    the hooks go in before the services are configured, so such a moto stops the start before
    the vision model is loaded.
    """
    lazy_imports.defer()  # before moto_hooks() imports the service packages, and they moto's modules
    _configure_moto()
    hooks.install(moto_hooks())
    from . import awslambda, rekognition, stepfunctions

    awslambda.configure(port)
    stepfunctions.configure(key.access_key_id, key.secret_access_key)
    rekognition.configure()


def _configure_moto() -> None:
    from moto.core.config import default_user_config

    # moto's own ASL interpreter runs executions. Lambda's use_docker stays at its default:
    # turning it off would swap in moto's canned "simple" backend, and the runtime hook
    # already keeps every invocation away from Docker.
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    # moto's server answers every origin with CORS headers (flask-cors); S3 sends them only when
    # a bucket's own CORS configuration asks for it, and no other API the workbook uses does.
    import moto.moto_server.werkzeug_app as werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True


def _moto_dispatcher() -> type:
    """moto's dispatcher, remembering which of its services answers a host name.

    moto finds it by listing its package's folders on disk and trying its services' URL
    patterns, on every request: 0.15 ms of a 1 ms DynamoDB call. The answer depends on the name
    alone (the name comes from the request's credential scope), so it is kept; a bounded cache,
    since a signed request may name any region.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class Dispatcher(DomainDispatcherApplication):
        @functools.lru_cache(maxsize=256)  # noqa: B019 - one dispatcher per server, never freed
        def get_backend_for_host(self, host: str | None) -> Any:
            return super().get_backend_for_host(host)

    return Dispatcher


def _s3_notification_check(environ: dict[str, Any], start_response: Callable[..., Any]):
    """PutBucketNotificationConfiguration: S3 first checks that it may invoke each function named."""
    from urllib.parse import parse_qs

    if environ.get("REQUEST_METHOD") != "PUT" or \
            "notification" not in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        return None
    from .iam.calls import bucket_and_key
    from .s3 import notifications

    bucket, key = bucket_and_key(environ)
    if not bucket or key:
        return None
    return notifications.check(environ, start_response, bucket)


# numpy's OpenBLAS starts a worker thread per core, which spins for a while after every
# matrix product: DetectLabels' one product per image kept a second core busy, doubling the
# server's CPU per image. The server's products are small; one thread does them faster.
# OpenBLAS reads this once, when numpy is first imported, so it is set before anything is.
SINGLE_THREADED_BLAS = {"OPENBLAS_NUM_THREADS": "1"}


def limit_blas_threads() -> None:
    if "numpy" in sys.modules:
        log.warning("numpy was imported before the server started: its BLAS may use a thread per core")
    for name, value in SINGLE_THREADED_BLAS.items():
        os.environ.setdefault(name, value)


def serve(port: int) -> None:
    """Run the local cloud in the foreground until SIGTERM or SIGINT."""
    limit_blas_threads()
    # moto's Step Functions interpreter calls Lambda through this port.
    os.environ["MOTO_PORT"] = str(port)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # werkzeug logs every request at INFO; keep the log readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from .rekognition.engine import LabelsUnavailable

    folder = config.private_dir(config.instance_dir(port))
    key = credentials.load(folder)
    if key is None:  # `serve` run by hand, not through `start`
        key = credentials.generate()
        credentials.write(folder, key)
    try:
        app = LocalCloudApp(port, key)
    except LabelsUnavailable as exc:
        # One line that names the fix, last in the log, which `start` shows.
        log.error("cannot start: %s", exc)
        raise SystemExit(2) from None
    from .serving import KeepAliveHandler

    server = make_server(config.HOST, port, app, threaded=True, request_handler=KeepAliveHandler)

    def shutdown(signum: int, frame: Any) -> None:
        log.info("signal %s: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("local cloud listening on %s", config.endpoint_url(port))
    try:
        server.serve_forever()
    finally:
        from .awslambda import runtime

        runtime.shutdown()
        log.info("stopped")
