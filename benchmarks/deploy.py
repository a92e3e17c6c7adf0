"""Deploy the workbook's pipeline into a local cloud the way a learner does: notebooks 00-05.

Shared by the benchmarks that need a deployed pipeline. The notebooks run with papermill
(executed copies go to ``output_dir``; the sources stay untouched) against the local cloud
that ``LOCALCLOUD_PORT`` names, as inside ``notebook_runner.fresh_localcloud()``.
"""

from __future__ import annotations

import os
from pathlib import Path

REGION = "us-east-1"
NOTEBOOKS = ("00", "01", "02", "03", "04", "05")


def deploy(output_dir: Path, prefix: str, region: str = REGION) -> str:
    """Run notebooks 00-05 with ``prefix``; the base URL of the REST API they deployed."""
    from helpers import notebook_runner

    notebook_runner.run(list(NOTEBOOKS), {"target": "local", "region": region, "prefix": prefix},
                        output_dir=output_dir)
    url = notebook_runner.api_url("local", region, prefix, port=int(os.environ["LOCALCLOUD_PORT"]))
    if url is None:
        raise RuntimeError(f"notebooks 00-05 ran but no REST API {prefix}-image-api is deployed")
    return url
