"""The local cloud's own endpoints under /_localcloud/: health, a report of what is deployed, fault rules,
S3 lifecycle runs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from . import config, faults, rekognition
from .s3 import lifecycle

STARTED_AT = time.time()
RECENT_EXECUTIONS = 10


def _backends(backend_dict: Any) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every region a request has touched."""
    for account_id in list(backend_dict.keys()):
        for region, backend in list(dict.items(backend_dict[account_id])):
            yield account_id, region, backend


def _functions() -> list[dict[str, Any]]:
    from moto.awslambda.models import lambda_backends

    out = []
    for _, region, backend in _backends(lambda_backends):
        for fn in backend.list_functions():
            out.append(
                {
                    "name": fn.function_name,
                    "region": region,
                    "runtime": fn.run_time,
                    "handler": fn.handler,
                    "memory_mb": int(fn.memory_size),
                    "timeout_s": int(fn.timeout),
                    "state": fn.state,
                }
            )
    return out


def _state_machines() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    machines, executions = [], []
    for _, region, backend in _backends(stepfunctions_parser_backends):
        for sm in backend.state_machines:
            machines.append({"name": sm.name, "region": region, "arn": sm.arn, "type": sm.type})
            for ex in sm.executions:
                executions.append(
                    {
                        "state_machine": sm.name,
                        "name": ex.name,
                        "status": ex.status,
                        "start": str(ex.start_date),
                        "stop": str(getattr(ex, "stop_date", "") or ""),
                    }
                )
    executions.sort(key=lambda e: e["start"], reverse=True)
    return machines, executions[:RECENT_EXECUTIONS]


def _rest_apis(port: int) -> list[dict[str, Any]]:
    from moto.apigateway.models import apigateway_backends

    out = []
    for _, region, backend in _backends(apigateway_backends):
        for api in backend.apis.values():
            out.append(
                {
                    "name": api.name,
                    "id": api.id,
                    "region": region,
                    "stages": {
                        stage: f"{config.endpoint_url(port)}/_aws/execute-api/{api.id}/{stage}/"
                        for stage in api.stages
                    },
                }
            )
    return out


def _buckets() -> list[str]:
    from moto.s3.models import s3_backends

    return sorted(name for _, _, backend in _backends(s3_backends) for name in backend.buckets)


def _tables() -> list[str]:
    from moto.dynamodb.models import dynamodb_backends

    return sorted(name for _, _, backend in _backends(dynamodb_backends) for name in backend.tables)


def _labels() -> dict[str, Any]:
    from .rekognition import responses

    engine = responses.ENGINE
    if responses.MISSING is not None:
        return {"source": "none", "model_version": None, "missing": responses.MISSING}
    if engine is None:
        return {"source": "canned", "model_version": "3.0"}
    return {"source": "model", "model_version": engine.model_version, "load_seconds": round(engine.load_seconds, 2)}


def _iam() -> dict[str, Any]:
    from .iam.enforce import ENFORCER

    return {"mode": ENFORCER.mode, "denials": len(ENFORCER.denials())}


def report(port: int) -> dict[str, Any]:
    from . import process
    from .awslambda import runtime

    machines, executions = _state_machines()
    return {
        "service": "localcloud",
        "endpoint": config.endpoint_url(port),
        "pid": os.getpid(),
        "owner": process.owner(),
        "uptime_s": round(time.time() - STARTED_AT, 1),
        "functions": _functions(),
        "warm_environments": runtime.pool_summary(),
        "state_machines": machines,
        "recent_executions": executions,
        "rest_apis": _rest_apis(port),
        "buckets": _buckets(),
        "tables": _tables(),
        "faults": faults.RULES.list(),
        "iam": _iam(),
        "labels": _labels(),
        "notes": [rekognition.labels_note()],  # said plainly wherever labels are shown
    }


class AdminApp:
    """The /_localcloud/ endpoints; the front door (``auth.gate``) has already checked the caller."""

    def __init__(self, port: int, secret: str) -> None:
        self.port = port
        self._secret = secret

    def health(self, challenge: str | None) -> dict[str, Any]:
        """Open to anyone: whose instance this is, and, for a challenge, proof that it holds its key."""
        from . import process

        body: dict[str, Any] = {"service": "localcloud", "pid": os.getpid(), "port": self.port,
                                "owner": process.owner()}
        if challenge:
            body["proof"] = process.health_proof(self._secret, challenge[:128])
        return body

    def __call__(self, environ: dict[str, Any], start_response: Any):
        request = Request(environ)
        if request.path == "/_localcloud/health":
            body = self.health(request.args.get("challenge"))
        elif request.path == "/_localcloud/status":
            body = report(self.port)
        elif request.path == faults.ADMIN_PATH or request.path.startswith(faults.ADMIN_PATH + "/"):
            status, body = faults.admin(request.method, request.path, request.get_data())
            return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)
        elif request.path == "/_localcloud/iam" or request.path.startswith("/_localcloud/iam/"):
            from .iam import enforce as iam_enforce

            status, body = iam_enforce.admin(request.method, request.path, request.get_data())
            return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)
        elif request.path == lifecycle.ADMIN_PATH:
            status, body = lifecycle.admin(request.method, request.args.to_dict(flat=False))
            return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)
        else:
            body = {"error": "NotFound", "message": f"no admin endpoint {request.path}; try /_localcloud/status"}
            return Response(json.dumps(body), status=404, mimetype="application/json")(environ, start_response)
        return Response(json.dumps(body, default=str), mimetype="application/json")(environ, start_response)
