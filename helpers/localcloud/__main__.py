"""Command line: python -m helpers.localcloud {start,stop,status,logs,serve} [--port N]."""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import config, process, status_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.localcloud",
        description="The workbook's embedded local cloud (moto server mode plus Lambda, "
        "Step Functions, API Gateway and Rekognition emulation) on 127.0.0.1.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("start", "start detached (or reuse a healthy instance) and print the endpoint"),
        ("stop", "stop this port's instance and its Lambda workers"),
        ("status", "whether it runs, where, and what is deployed"),
        ("logs", "show the instance's log"),
        ("serve", "run in the foreground (what `start` runs detached)"),
    ]:
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--port", type=int, default=None, help=f"default {config.DEFAULT_PORT} or $LOCALCLOUD_PORT")
        if name == "status":
            cmd.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "logs":
            cmd.add_argument("-n", "--lines", type=int, default=100, help="how many lines (default 100)")
            cmd.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    args = parser.parse_args(argv)
    port = args.port or config.default_port()

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
        print(f"use it with: export AWS_ENDPOINT_URL={instance.endpoint}")
        return 0
    if args.command == "stop":
        stopped = process.stop(port)
        print(f"stopped the local cloud on port {port}" if stopped else f"no local cloud of ours on port {port}")
        return 0
    if args.command == "status":
        report = process.status(port)
        if report is None:
            print(f"not running on port {port} (start it: python -m helpers.localcloud start --port {port})")
            return 3
        print(json.dumps(report, indent=2) if args.json else status_report.render(report))
        return 0
    if args.command == "logs":
        print(process.tail(port, args.lines))
        if args.follow:
            return _follow(port)
        return 0
    return 2


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
