"""Command line: python -m localcloud {start,stop,status,logs,env,serve,faults,iam,lifecycle,prepare-model}."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

from . import config, faults, process, status_report
from .s3 import lifecycle

PORT_HELP = (f"default: $LOCALCLOUD_PORT, else the port your last start recorded, else {config.DEFAULT_PORT}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description="The workbook's embedded local cloud (moto server mode plus Lambda, "
        "Step Functions, API Gateway and Rekognition emulation) on 127.0.0.1.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("start", "start detached (or reuse a healthy instance) and print the endpoint"),
        ("stop", "stop this port's instance and its Lambda workers"),
        ("status", "whether it runs, where, and what is deployed"),
        ("logs", "show the instance's log"),
        ("env", "print export lines for the AWS CLI or any SDK: eval \"$(python -m localcloud env)\""),
        ("serve", "run in the foreground (what `start` runs detached)"),
    ]:
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--port", type=int, default=None, help=PORT_HELP)
        if name == "env":
            cmd.add_argument("--region", default=config.DEFAULT_REGION, help=f"default {config.DEFAULT_REGION}")
        if name == "status":
            cmd.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "logs":
            cmd.add_argument("-n", "--lines", type=int, default=100, help="how many lines (default 100)")
            cmd.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    text = "check the label model's weights and convert them once for the local cloud (make setup runs it)"
    sub.add_parser("prepare-model", help=text, description=text)
    _add_faults_parser(sub)
    _add_iam_parser(sub)
    _add_lifecycle_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "prepare-model":
        return _prepare_model()
    port = args.port or config.default_port()

    if args.command == "faults":
        return _faults(args, port)
    if args.command == "iam":
        return _iam(args, port)
    if args.command == "lifecycle":
        return _lifecycle(args, port)

    if args.command == "serve":
        from .server import serve

        serve(port)
        return 0
    if args.command == "start":
        try:
            instance = process.start(port)
        except process.LocalCloudError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"local cloud running at {instance.endpoint} (pid {instance.pid})")
        command = "python -m localcloud env" + (f" --port {instance.port}" if args.port else "")
        print(f'use it from a shell (AWS CLI, any SDK): eval "$({command})"')
        return 0
    if args.command == "stop":
        stopped = process.stop(port)
        print(f"stopped the local cloud on port {port}" if stopped else f"no local cloud of ours on port {port}")
        return 0
    if args.command == "status":
        report = process.status(port)
        if report is None:
            print(process.not_running_message(port))
            return 3
        print(json.dumps(report, indent=2) if args.json else status_report.render(report))
        return 0
    if args.command == "env":
        try:
            variables = process.client_environment(port, args.region)
        except process.LocalCloudError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        # A session token or profile left in the shell would be sent along and refused.
        print("unset AWS_SESSION_TOKEN AWS_PROFILE")
        for name, value in variables.items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if args.command == "logs":
        print(process.tail(port, args.lines))
        if args.follow:
            return _follow(port)
        return 0
    return 2


def _prepare_model() -> int:
    # Imported here: the other commands should not pay for onnx.
    from .rekognition.vision import ModelUnavailable, prepare

    started = time.perf_counter()
    try:
        path = prepare(config.model_cache_dir())
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"label model ready in {time.perf_counter() - started:.1f} s: {path.name} in {path.parent}")
    return 0


def _add_faults_parser(sub: argparse._SubParsersAction) -> None:
    text = "make chosen AWS calls fail on demand (add, list, clear fault rules)"
    faults_parser = sub.add_parser("faults", help=text, description=text)
    actions = faults_parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add", help="add a rule", description="Answer matching calls with an AWS error, COUNT times (default 1).",
        epilog="example: faults add --service rekognition --operation DetectLabels "
               "--error ThrottlingException --count 2",
    )
    add.add_argument("--service", required=True, help="signing name: lambda, rekognition, dynamodb, s3, ...")
    add.add_argument("--operation", required=True, help="Invoke, DetectLabels, UpdateItem, GetObject, ... or *")
    add.add_argument("--error", required=True, help="the AWS error code, e.g. ThrottlingException")
    add.add_argument("--count", type=int, default=1, help="fire this many times, then expire (default 1)")
    add.add_argument("--always", action="store_true", help="no count: fire until cleared")
    add.add_argument("--match", help="glob on the function name, table, bucket or bucket/key")
    add.add_argument("--status", type=int, help="HTTP status (defaults to AWS's for known codes)")
    add.add_argument("--message", help="the error message (defaults to AWS's usual one)")
    add.add_argument("--probability", type=float, help="fire on this share of matching calls (0-1]")
    add.add_argument("--seed", type=int, help="seed for --probability, for a reproducible sequence")
    listing = actions.add_parser("list", help="the rules and how often each fired")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    clearing = actions.add_parser("clear", help="remove every rule (or one: --id f3)")
    clearing.add_argument("--id", help="the rule to remove")
    for cmd in (add, listing, clearing):
        cmd.add_argument("--port", type=int, default=None, help=PORT_HELP)


def _add_iam_parser(sub: argparse._SubParsersAction) -> None:
    text = "IAM enforcement: show or set the mode, list what was denied"
    iam_parser = sub.add_parser("iam", help=text, description=text)
    actions = iam_parser.add_subparsers(dest="action", required=True)
    mode = actions.add_parser("mode", help="show the mode, or set it: enforce (default), report (log only), off")
    mode.add_argument("new_mode", nargs="?", choices=("enforce", "report", "off"))
    listing = actions.add_parser("denials", help="what role credentials were refused (or would be, in report mode)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--clear", action="store_true", help="then forget them")
    for cmd in (mode, listing):
        cmd.add_argument("--port", type=int, default=None, help=PORT_HELP)


def _iam(args: argparse.Namespace, port: int) -> int:
    from . import iam

    if _not_running(port):
        return 3
    endpoint = config.endpoint_url(port)
    if args.action == "mode":
        print(iam.set_mode(endpoint, args.new_mode) if args.new_mode else iam.mode(endpoint))
        return 0
    found = iam.denials(endpoint)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print("\n".join(iam.describe(d) for d in found) if found else "nothing denied")
    if args.clear:
        iam.clear_denials(endpoint)
    return 0


def _not_running(port: int) -> bool:
    """True, having said how to start it, when no local cloud answers on ``port`` (exit code 3)."""
    if process.find(port) is not None:
        return False
    print(process.not_running_message(port),
          file=sys.stderr)
    return True


def _faults(args: argparse.Namespace, port: int) -> int:
    if _not_running(port):
        return 3
    endpoint = config.endpoint_url(port)
    if args.action == "add":
        try:
            rule = faults.inject(endpoint, service=args.service, operation=args.operation, error=args.error,
                                 count=None if args.always else args.count, match=args.match, status=args.status,
                                 message=args.message, probability=args.probability, seed=args.seed)
        except faults.FaultRuleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"added {faults.describe(rule)}")
        return 0
    if args.action == "list":
        found = faults.rules(endpoint)
        if args.json:
            print(json.dumps(found, indent=2))
        else:
            print("\n".join(faults.describe(rule) for rule in found) if found else "no fault rules")
        return 0
    cleared = faults.clear(endpoint, args.id)
    print(f"cleared {cleared} fault rule(s)")
    return 0


def _add_lifecycle_parser(sub: argparse._SubParsersAction) -> None:
    text = "apply the S3 buckets' lifecycle rules as if the clock were N days later"
    lifecycle_parser = sub.add_parser("lifecycle", help=text, description=text)
    actions = lifecycle_parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", help="expire what the rules would have expired by then, and print it",
        description="Apply every enabled Expiration and AbortIncompleteMultipartUpload rule as of now plus "
                    "DAYS days: objects whose LastModified + Days (rounded up to midnight UTC, as S3 does) has "
                    "passed are deleted.",
        epilog="example: lifecycle run --days 2",
    )
    run.add_argument("--days", type=float, required=True, help="how many days to move the clock forward (>= 0)")
    run.add_argument("--bucket", help="only this bucket's rules")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.add_argument("--port", type=int, default=None, help=PORT_HELP)


def _lifecycle(args: argparse.Namespace, port: int) -> int:
    if _not_running(port):
        return 3
    try:
        report = lifecycle.run(config.endpoint_url(port), days=args.days, bucket=args.bucket)
    except lifecycle.LifecycleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"lifecycle rules applied as of {report['as_of']} ({report['days']:g} day(s) from now)")
    for item in report["expired"]:
        print(f"expired {item['bucket']}/{item['key']} ({item['action']}, rule {item['rule']})")
    for item in report["aborted_uploads"]:
        print(f"aborted upload {item['upload_id']} of {item['bucket']}/{item['key']} (rule {item['rule']})")
    if not report["expired"] and not report["aborted_uploads"]:
        print("nothing expired")
    return 0


def _follow(port: int) -> int:
    path = process.log_file(port)
    with open(path, errors="replace") as handle:
        handle.seek(0, 2)
        try:
            while True:
                line = handle.readline()
                if line:
                    print(line, end="")
                else:
                    time.sleep(0.25)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
