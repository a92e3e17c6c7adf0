"""Every resource name and tag, derived from the learner's prefix in one place.

Many learners share one sandbox account in a workshop; the prefix keeps their resources
apart and the tags let an instructor find (and clean up) what each learner created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORKBOOK_TAG = "serverless-image-workbook"
FUNCTIONS = ("image_uploader", "label_detector", "result_store", "api_receiver", "upload_receiver")
LAYERS = ("pillow",)  # Lambda layers the workbook publishes (helpers/layers.py)
API_STAGE = "v1"

# Short enough that the longest derived name (the bucket, 63 chars at most) always fits.
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")


class PrefixError(ValueError):
    """The prefix cannot name AWS resources; the message says what is accepted."""


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix) or "--" in prefix:
        raise PrefixError(
            f"prefix {prefix!r} is not usable: use 3-20 characters, lowercase letters, digits and "
            "single hyphens, starting with a letter and ending with a letter or digit (e.g. 'alice' or 'team-3')"
        )
    return prefix


@dataclass(frozen=True)
class Names:
    prefix: str
    account_id: str
    region: str

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    @property
    def bucket(self) -> str:
        # S3 names are global across all accounts: account and region make it unique.
        return f"{self.prefix}-images-{self.account_id}-{self.region}"

    @property
    def table(self) -> str:
        return f"{self.prefix}-image-results"

    def function(self, key: str) -> str:
        """The Lambda function's name for ``key`` (one of FUNCTIONS, e.g. "image_uploader")."""
        if key not in FUNCTIONS:
            raise KeyError(f"unknown function {key!r}; the pipeline's functions are {', '.join(FUNCTIONS)}")
        return f"{self.prefix}-{key.replace('_', '-')}"

    def role(self, key: str) -> str:
        """One IAM role per function, plus "state_machine"."""
        if key == "state_machine":
            return f"{self.prefix}-state-machine-role"
        return f"{self.function(key)}-role"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-image-pipeline"

    @property
    def api(self) -> str:
        return f"{self.prefix}-image-api"

    @property
    def stage(self) -> str:
        return API_STAGE

    def log_group(self, key: str) -> str:
        return f"/aws/lambda/{self.function(key)}"

    def layer(self, key: str) -> str:
        """The Lambda layer's name for ``key`` (one of LAYERS, e.g. "pillow")."""
        if key not in LAYERS:
            raise KeyError(f"unknown layer {key!r}; the workbook's layers are {', '.join(LAYERS)}")
        return f"{self.prefix}-{key}"

    # ARNs, for least-privilege policies that name exact resources.
    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    def function_arn(self, key: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{self.function(key)}"

    def role_arn(self, key: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{self.role(key)}"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}"

    @property
    def table_arn(self) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account_id}:table/{self.table}"

    @property
    def state_machine_arn(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account_id}:stateMachine:{self.state_machine}"

    def log_group_arn(self, key: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account_id}:log-group:{self.log_group(key)}"

    def inventory(self) -> list[tuple[str, str]]:
        """(kind, name) of everything the workbook creates for this prefix, in build order."""
        return [item for items in self.inventory_by_notebook().values() for item in items]

    def inventory_by_notebook(self) -> dict[str, list[tuple[str, str]]]:
        """The inventory by the notebook that creates it ("01" to "07"; 06 only uses what 05 built)."""

        def function(key: str) -> list[tuple[str, str]]:
            return [("IAM role", self.role(key)), ("Lambda function", self.function(key)),
                    ("log group", self.log_group(key))]

        return {
            "01": [("S3 bucket", self.bucket), *function("image_uploader")],
            "02": [*function("label_detector"), ("Lambda layer", self.layer("pillow"))],
            "03": [("DynamoDB table", self.table), *function("result_store")],
            "04": [("IAM role", self.role("state_machine")), ("state machine", self.state_machine)],
            "05": [*function("api_receiver"), ("REST API", f"{self.api} (stage {self.stage})")],
            "06": [],
            "07": [*function("upload_receiver")],
        }

    @property
    def tags(self) -> dict[str, str]:
        return {"workbook": WORKBOOK_TAG, "workbook-prefix": self.prefix}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """Tags as the [{"Key": ..., "Value": ...}] list most APIs take (spelling varies by API)."""
        return [{key: k, value: v} for k, v in self.tags.items()]
