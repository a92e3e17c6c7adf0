"""Every resource name and tag, derived from the learner's prefix in one place.

Many learners share one sandbox account in a workshop; the prefix keeps their resources
apart and the tags let an instructor find (and clean up) what each learner created.

Each kind of resource is named by one template (:data:`TEMPLATES`): :class:`Names` fills it
in, and :func:`prefix_of` reads a name back with a pattern made from the same template, so
the names built and the names recognised (``helpers/cleanup.py``, ``helpers/classroom.py``)
cannot drift apart.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

WORKBOOK_TAG = "serverless-image-workbook"
# The tag keys every resource carries: the workbook's (value WORKBOOK_TAG) and the learner's prefix.
WORKBOOK_KEY = "workbook"
PREFIX_KEY = "workbook-prefix"
FUNCTIONS = ("image_uploader", "label_detector", "result_store", "api_receiver", "upload_receiver")
LAYERS = ("pillow",)  # Lambda layers the workbook publishes (helpers/layers.py)
API_STAGE = "v1"

# Per kind (as the inventory, cleanup and the classroom say it), how a name is made: str.format
# templates whose fields are filled by Names and matched by the patterns below.
TEMPLATES = {
    "REST API": "{prefix}-image-api",
    "state machine": "{prefix}-image-pipeline",
    "Lambda function": "{prefix}-{function}",
    "Lambda layer": "{prefix}-{layer}",
    "log group": "/aws/lambda/{prefix}-{function}",
    "IAM role": "{prefix}-{role}-role",
    "DynamoDB table": "{prefix}-image-results",
    "S3 bucket": "{prefix}-images-{account_id}-{region}",
}

# Short enough that the longest derived name (the bucket, 63 chars at most) always fits.
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")


def _hyphenated(key: str) -> str:
    return key.replace("_", "-")


def _function_field(key: str) -> str:
    """A function's part of a name ("image-uploader"); a KeyError naming the known ones otherwise."""
    if key not in FUNCTIONS:
        raise KeyError(f"unknown function {key!r}; the pipeline's functions are {', '.join(FUNCTIONS)}")
    return _hyphenated(key)


def _field_patterns() -> dict[str, str]:
    """What each template field may hold in a name; the prefix is captured.

    The prefix is matched loosely (any lowercase name of letters, digits and hyphens), not by
    check_prefix's rules, so a name made from any prefix is still read back whole.
    """
    functions = "|".join(re.escape(_hyphenated(key)) for key in FUNCTIONS)
    return {
        "prefix": r"(?P<prefix>[a-z][a-z0-9-]*[a-z0-9])",
        "function": f"(?:{functions})",
        "role": f"(?:{functions}|state-machine)",
        "layer": "(?:" + "|".join(re.escape(key) for key in LAYERS) + ")",
        "account_id": r"\d{12}",
        "region": r"[a-z0-9-]+",
    }


def _pattern(template: str, fields: dict[str, str]) -> re.Pattern[str]:
    parts = [re.escape(literal) + (fields[field] if field is not None else "")
             for literal, field, _, _ in string.Formatter().parse(template)]
    return re.compile("^" + "".join(parts) + "$")


PATTERNS = {kind: _pattern(template, _field_patterns()) for kind, template in TEMPLATES.items()}


def prefix_of(kind: str, name: str) -> str | None:
    """The prefix a workbook name of this kind was made from ("alice" for "alice-image-api"), else None.

    Names are read whole, never as a plain string prefix: ``team-2-image-api`` is
    ``team-2``'s, not ``team``'s.
    """
    match = PATTERNS[kind].match(name) if kind in PATTERNS else None
    return match["prefix"] if match else None


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

    def _name(self, kind: str, **fields: str) -> str:
        return TEMPLATES[kind].format(prefix=self.prefix, **fields)

    @property
    def bucket(self) -> str:
        # S3 names are global across all accounts: account and region make it unique.
        return self._name("S3 bucket", account_id=self.account_id, region=self.region)

    @property
    def table(self) -> str:
        return self._name("DynamoDB table")

    def function(self, key: str) -> str:
        """The Lambda function's name for ``key`` (one of FUNCTIONS, e.g. "image_uploader")."""
        return self._name("Lambda function", function=_function_field(key))

    def role(self, key: str) -> str:
        """One IAM role per function, plus "state_machine"."""
        role = "state-machine" if key == "state_machine" else _function_field(key)
        return self._name("IAM role", role=role)

    @property
    def state_machine(self) -> str:
        return self._name("state machine")

    @property
    def api(self) -> str:
        return self._name("REST API")

    @property
    def stage(self) -> str:
        return API_STAGE

    def log_group(self, key: str) -> str:
        return self._name("log group", function=_function_field(key))

    def layer(self, key: str) -> str:
        """The Lambda layer's name for ``key`` (one of LAYERS, e.g. "pillow")."""
        if key not in LAYERS:
            raise KeyError(f"unknown layer {key!r}; the workbook's layers are {', '.join(LAYERS)}")
        return self._name("Lambda layer", layer=key)

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
        return {WORKBOOK_KEY: WORKBOOK_TAG, PREFIX_KEY: self.prefix}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """Tags as the [{"Key": ..., "Value": ...}] list most APIs take (spelling varies by API)."""
        return [{key: k, value: v} for k, v in self.tags.items()]
