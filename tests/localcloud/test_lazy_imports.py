"""What the local cloud does not load until it is used (issue 12, point 4: idle memory).

moto's Batch package loads EC2's and ECS's models (~100 MB) and the API Gateway models import
an OpenAPI validator (~32 MB); the pipeline needs neither, so they load on first use. Checked
in a fresh interpreter: the test process itself has imported far more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import REPO

CHECK = """
import json, sys
from localcloud import server
from localcloud.auth import credentials
server.LocalCloudApp(int(sys.argv[1]), credentials.generate())
loaded = {name: name in sys.modules for name in ("moto.ec2", "moto.ecs", "openapi_spec_validator")}
from moto.batch.models import batch_backends  # first use: loads as before
backend = batch_backends["123456789012"]["us-east-1"]
print(json.dumps({"loaded": loaded, "batch": type(backend).__name__}))
"""


def test_batch_and_the_openapi_validator_load_on_first_use_only(tmp_path):
    env = dict(os.environ, LOCALCLOUD_HOME=str(tmp_path), LOCALCLOUD_LABELS="canned",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", CHECK, "45999"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"loaded": {"moto.ec2": False, "moto.ecs": False, "openapi_spec_validator": False},
                      "batch": "BatchBackend"}
