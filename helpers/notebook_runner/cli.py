"""The command line: ``python -m helpers.notebook_runner [run|refresh|nbval] ...`` (see the package's docstring)."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

from helpers import workspace

from . import locations
from .deployed_api import api_url
from .errors import NotebookFailed, RunnerError
from .locations import display
from .maintenance import nbval, refresh
from .running import DEFAULT_CELL_TIMEOUT_S, DEFAULT_PARAMETERS, discover, is_cleanup, number, run, select

# Runs that include this notebook (or a later one) end by printing the API's URL.
API_NOTEBOOK = 5


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.notebook_runner",
        description="Run the workbook's notebooks in order with papermill (run), re-run the committed "
        "notebooks in place for committing (refresh), or check them with pytest --nbval against a fresh "
        "local cloud (nbval).",
    )
    parser.add_argument("mode", nargs="?", choices=("run", "refresh", "nbval"), default="run",
                        help="run (default): into --output; refresh: in place; nbval: pytest --nbval "
                        "(further pytest arguments after --)")
    parser.add_argument("--target", default=DEFAULT_PARAMETERS["target"], choices=("local", "aws"),
                        help="local (default) or aws")
    parser.add_argument("--region", default=DEFAULT_PARAMETERS["region"], help="default us-east-1")
    parser.add_argument("--prefix", default=DEFAULT_PARAMETERS["prefix"], help="default workbook")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="another notebook parameter, e.g. -p max_labels 5 (Python literal or text)")
    parser.add_argument("--only", help="comma-separated notebooks, by number or name: 00,01")
    parser.add_argument("--through", help="every notebook up to this number: 06")
    # Defaults are read after parsing: --help needs no checkout.
    parser.add_argument("--output", help="folder for executed copies (default output/)")
    parser.add_argument("--notebooks", help="folder of the notebooks (default notebooks/)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT_S,
                        help=f"seconds a cell may run (default {DEFAULT_CELL_TIMEOUT_S})")
    parser.add_argument("--prepare-only", action="store_true",
                        help="write the parameterized copies without running them (for pytest --nbval-lax)")
    parser.add_argument("--lax", action="store_true", help="nbval mode: --nbval-lax instead of strict --nbval")
    args, rest = parser.parse_known_args(argv)
    if rest and args.mode != "nbval":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    try:
        available = discover(args.notebooks)
        output = args.output or str(locations.OUTPUT_DIR)
        chosen = select(available, args.only.split(",") if args.only else None, args.through)
        if args.mode == "nbval":
            only_given = args.only or args.through
            return nbval(chosen if only_given else available, rest, lax=args.lax)
        if args.mode == "refresh":
            refresh(chosen if (args.only or args.through) else available)
            return 0
        parameters = {"target": args.target, "region": args.region, "prefix": args.prefix}
        parameters.update({name: _value(value) for name, value in args.parameter})
        results = run(chosen, parameters, output, cell_timeout=args.cell_timeout or None,
                      prepare_only=args.prepare_only)
    except NotebookFailed as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except (RunnerError, workspace.WorkbookNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    if args.prepare_only:
        print(f"prepared {len(results)} notebook(s) in {display(output)}")
        return 0
    print(f"ran {len(results)} notebook(s) in {sum(r.seconds for r in results):.1f} s; executed copies in "
          f"{display(output)}")
    if any(number(Path(r.output_path)) >= API_NOTEBOOK and not is_cleanup(Path(r.output_path)) for r in results):
        _print_api_url(args.target, args.region, args.prefix)
    return 0


def _print_api_url(target: str, region: str, prefix: str) -> None:
    try:
        url = api_url(target, region, prefix)
    except Exception as exc:  # the run succeeded; a failed look-up only loses the hint
        print(f"(could not look up the API's URL: {type(exc).__name__}: {exc})")
        return
    if url is None:
        print(f"(no REST API {prefix}-image-api is deployed on {target} in {region})")
        return
    print(f"API: {url}")
    print(f"  try it: curl -H 'Content-Type: image/png' --data-binary @image.png {url}/images")
    print(f"  several: curl -F 'images=@a.png;type=image/png' -F 'images=@b.jpg;type=image/jpeg' {url}/images")
