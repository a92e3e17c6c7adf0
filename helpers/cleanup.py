"""Removes everything the workbook created for one prefix, and finds what is left.

In a workshop many learners share one account, each with a prefix. :func:`delete_everything`
deletes, for this prefix only and by the exact names in ``helpers/names.py``, the REST API,
the state machine (stopping running executions first), the five Lambda functions and their
log groups, every version of the Pillow layer, the six IAM roles, the table and the bucket
(every object version first). It is idempotent: a second run has nothing to delete and says so.

:func:`leftovers` looks again, service by service, for anything named from this prefix or
tagged ``workbook-prefix=<prefix>``. Names are compared as *whole* workbook names, never as a
plain string prefix: prefix ``team`` is a string prefix of ``team-2-image-api``, which
belongs to learner ``team-2``.

Only boto3 (through ``wb.client``) and the foundation helpers are used, so cleanup works
whichever notebooks were run, and on a kernel that never imported the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from . import iam, lambdas, storage
from .aws_errors import ACCESS_DENIED, error_code, is_not_found
from .names import FUNCTIONS, LAYERS, PREFIX_KEY, prefix_of
from .workbook import Workbook

STATE_MACHINE_DELETE_SECONDS = 180
# DeleteRestApi allows one call per 30 s per account: in a workshop, learners wait in turn.
REST_API_THROTTLE_SECONDS = 300

# Every kind, in the order delete_everything removes them: the entry points first (nothing
# new can start), then what runs, then what they wrote to.
KINDS = ("REST API", "state machine", "Lambda function", "Lambda layer", "log group", "IAM role", "DynamoDB table",
         "S3 bucket")


@dataclass(frozen=True)
class Step:
    kind: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Report:
    """What delete_everything removed and what it could not; printed one line each."""

    prefix: str
    deleted: list[Step] = field(default_factory=list)
    failed: list[Step] = field(default_factory=list)
    account_id: str = ""  # masked in the printout on AWS

    @property
    def ok(self) -> bool:
        return not self.failed

    def __repr__(self) -> str:
        if not self.deleted and not self.failed:
            return f"nothing to delete for prefix {self.prefix!r}"
        lines = [f"✓ deleted {step}" for step in self.deleted]
        lines += [f"✗ could not delete {step}" for step in self.failed]
        return _mask("\n".join(lines), self.account_id)


class Leftovers(list):
    """``leftovers(wb)``: a list of "kind name" strings (``== []`` when clean), printed one per line."""

    prefix: str = ""
    account_id: str = ""  # masked in the printout on AWS

    def __repr__(self) -> str:
        if not self:
            return f"nothing found for prefix {self.prefix!r}"
        return _mask("\n".join(self), self.account_id)


def _mask(text: str, account_id: str) -> str:
    return text.replace(account_id, "<account>") if account_id else text


# --- deleting -----------------------------------------------------------------------------

def delete_everything(wb: Workbook) -> Report:
    """Delete this prefix's resources, each step independent of the others; never fails on absence."""
    names = wb.names
    report = Report(prefix=names.prefix, account_id="" if wb.is_local else names.account_id)

    def attempt(kind: str, name: str, delete: Callable[[], str | None]) -> None:
        """``delete`` returns None when there was nothing to delete, else a detail ("" for none)."""
        try:
            detail = delete()
        except Exception as exc:  # keep going: delete as much as possible, report the rest
            report.failed.append(Step(kind, name, f"{type(exc).__name__}: {exc}"))
            return
        if detail is not None:
            report.deleted.append(Step(kind, name, detail))

    attempt("REST API", names.api, lambda: _delete_rest_apis(wb))
    attempt("state machine", names.state_machine, lambda: _delete_state_machine(wb))
    for key in FUNCTIONS:
        attempt("Lambda function", names.function(key), lambda key=key: "" if lambdas.delete(wb, key) else None)
    for key in LAYERS:
        attempt("Lambda layer", names.layer(key), lambda key=key: _delete_layer(wb, names.layer(key)))
    for key in FUNCTIONS:
        attempt("log group", names.log_group(key), lambda key=key: _delete_log_group(wb, names.log_group(key)))
    for key in (*FUNCTIONS, "state_machine"):
        attempt("IAM role", names.role(key), lambda key=key: _delete_role(wb, key))
    attempt("DynamoDB table", names.table, lambda: "" if storage.delete_table(wb) else None)
    attempt("S3 bucket", names.bucket, lambda: _delete_bucket(wb))
    return report


def _delete_rest_apis(wb: Workbook) -> str | None:
    """Every REST API with this prefix's API name (API names are not unique). Ids are random: not shown."""
    ids = [api["id"] for api in _rest_apis(wb) if api.get("name") == wb.names.api]
    deleted = sum(_delete_rest_api(wb, api_id) is not None for api_id in ids)
    return None if not deleted else "" if deleted == 1 else f"{deleted} APIs of that name"


def _rest_apis(wb: Workbook) -> Iterator[dict]:
    for page in wb.client("apigateway").get_paginator("get_rest_apis").paginate():
        yield from page.get("items", [])


def _delete_rest_api(wb: Workbook, api_id: str) -> str | None:
    apigw = wb.client("apigateway")
    deadline = time.monotonic() + REST_API_THROTTLE_SECONDS
    while True:
        try:
            apigw.delete_rest_api(restApiId=api_id)
            return ""
        except ClientError as exc:
            if is_not_found(exc):
                return None
            if error_code(exc) != "TooManyRequestsException" or time.monotonic() >= deadline:
                raise
            time.sleep(10)


def _delete_state_machine(wb: Workbook) -> str | None:
    sfn = wb.client("stepfunctions")
    arn = wb.names.state_machine_arn
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    stopped = 0
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
        for execution in page["executions"]:
            try:
                sfn.stop_execution(executionArn=execution["executionArn"], error="Cleanup",
                                   cause="08_cleanup deleted the state machine")
                stopped += 1
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
    sfn.delete_state_machine(stateMachineArn=arn)
    # Deletion is asynchronous on AWS (status DELETING until executions have ended).
    deadline = time.monotonic() + STATE_MACHINE_DELETE_SECONDS
    while True:
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if is_not_found(exc):
                break
            raise
        if time.monotonic() >= deadline:
            raise TimeoutError(f"still DELETING after {STATE_MACHINE_DELETE_SECONDS} s; run the cleanup again later")
        time.sleep(0.2 if wb.is_local else 2)
    return f"{stopped} running execution{'s' if stopped != 1 else ''} stopped first" if stopped else ""


def _delete_layer(wb: Workbook, name: str) -> str | None:
    """Every version of the layer: a layer exists as long as one of its versions does."""
    lam = wb.client("lambda")
    numbers = [v["Version"] for page in lam.get_paginator("list_layer_versions").paginate(LayerName=name)
               for v in page.get("LayerVersions", [])]
    for number in numbers:
        lam.delete_layer_version(LayerName=name, VersionNumber=number)  # succeeds if already gone
    if not numbers:
        return None
    return f"{len(numbers)} version{'s' if len(numbers) != 1 else ''}"


def _delete_log_group(wb: Workbook, group: str) -> str | None:
    logs = wb.client("logs")
    try:
        logs.delete_log_group(logGroupName=group)
    except logs.exceptions.ResourceNotFoundException:
        return None
    return ""


def _delete_role(wb: Workbook, key: str) -> str | None:
    """Detach what iam.delete_role does not know about (managed policies, instance profiles), then delete."""
    client = wb.client("iam")
    name = wb.names.role(key)
    try:
        for page in client.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for policy in page["AttachedPolicies"]:
                client.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for profile in client.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
            client.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
    except client.exceptions.NoSuchEntityException:
        return None
    return "" if iam.delete_role(wb, key) else None


def _delete_bucket(wb: Workbook) -> str | None:
    if not _bucket_exists(wb, wb.names.bucket):
        return None
    removed = storage.empty_and_delete_bucket(wb)
    return f"emptied first: {removed} object version{'s' if removed != 1 else ''}" if removed else ""


def _bucket_exists(wb: Workbook, bucket: str) -> bool:
    try:
        wb.client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise
    return True


# --- finding what is left -----------------------------------------------------------------

Candidate = tuple[str, str, str, Callable[[], str | None]]  # kind, name, ARN, its workbook-prefix tag


def _prefix_tag(tags: list[dict[str, str]], key: str = "Key", value: str = "Value") -> str | None:
    return {t[key]: t[value] for t in tags}.get(PREFIX_KEY)


def _candidates(wb: Workbook) -> Iterator[Candidate]:
    """Every resource of the workbook's kinds whose name starts with ``prefix-``.

    The tag is looked up only when needed (a call per resource), so it comes as a function.
    """
    n = wb.names
    start = f"{n.prefix}-"
    apigw, sfn, lam, logs = (wb.client(s) for s in ("apigateway", "stepfunctions", "lambda", "logs"))
    iam_client, ddb, s3 = (wb.client(s) for s in ("iam", "dynamodb", "s3"))

    for api in _rest_apis(wb):
        if api.get("name", "").startswith(start):
            arn = f"arn:{n.partition}:apigateway:{n.region}::/restapis/{api['id']}"
            yield "REST API", api["name"], arn, lambda api=api: (api.get("tags") or {}).get(PREFIX_KEY)

    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"].startswith(start):
                arn = machine["stateMachineArn"]
                yield "state machine", machine["name"], arn, lambda arn=arn: _prefix_tag(
                    sfn.list_tags_for_resource(resourceArn=arn)["tags"], "key", "value")

    for page in lam.get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if function["FunctionName"].startswith(start):
                arn = function["FunctionArn"]
                yield "Lambda function", function["FunctionName"], arn, lambda arn=arn: (
                    lam.list_tags(Resource=arn).get("Tags", {}).get(PREFIX_KEY))

    for page in lam.get_paginator("list_layers").paginate():
        for layer in page["Layers"]:  # only layers with at least one version left
            if layer["LayerName"].startswith(start):
                # Layers cannot be tagged: the name is all there is to go by.
                yield "Lambda layer", layer["LayerName"], layer["LayerArn"], lambda: None

    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/aws/lambda/{start}"):
        for group in page["logGroups"]:
            name = group["logGroupName"]
            yield "log group", name, group["arn"].removesuffix(":*"), lambda name=name: (
                logs.list_tags_log_group(logGroupName=name).get("tags", {}).get(PREFIX_KEY))

    for page in iam_client.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role["RoleName"].startswith(start):
                name = role["RoleName"]
                yield "IAM role", name, role["Arn"], lambda name=name: _prefix_tag(
                    iam_client.list_role_tags(RoleName=name)["Tags"])

    for page in ddb.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            if table.startswith(start):
                arn = f"arn:{n.partition}:dynamodb:{n.region}:{n.account_id}:table/{table}"
                yield "DynamoDB table", table, arn, lambda arn=arn: _prefix_tag(
                    ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))

    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        # A bucket just deleted can linger in ListBuckets for a moment on AWS: confirm it.
        if name.startswith(start) and _bucket_exists(wb, name):
            yield "S3 bucket", name, f"arn:{n.partition}:s3:::{name}", lambda name=name: _bucket_tag(wb, name)


def _bucket_tag(wb: Workbook, bucket: str) -> str | None:
    try:
        return _prefix_tag(wb.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchTagSet":
            return None
        raise


def _is_ours(kind: str, name: str, prefix: str, tag: Callable[[], str | None]) -> bool:
    """A name starting with ``prefix-`` is ours unless it is another prefix's (by its shape or its tag)."""
    named_for = prefix_of(kind, name)
    if named_for == prefix:
        return True
    if named_for is not None:  # a workbook name made from a longer prefix, e.g. "team-2" for prefix "team"
        return False
    try:
        owner = tag()
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return False  # in a shared account, another learner's: its tags are not ours to read
        raise
    return owner is None or owner == prefix  # untagged and named with the prefix: report it


def leftovers(wb: Workbook) -> Leftovers:
    """Everything still named from this prefix or tagged workbook-prefix=<prefix>, as "kind name"."""
    prefix = wb.names.prefix
    found: dict[str, str] = {}  # arn -> "kind name"
    for kind, name, arn, tag in _candidates(wb):
        if _is_ours(kind, name, prefix, tag):
            found[arn] = f"{kind} {name}"
    order = {kind: i for i, kind in enumerate(KINDS)}
    items = sorted(found.values(), key=lambda item: (order.get(_kind_of(item), len(KINDS)), item))
    items += sorted(f"tagged {arn}" for arn in _tagged(wb) if arn not in found)
    result = Leftovers(items)
    result.prefix = prefix
    result.account_id = "" if wb.is_local else wb.names.account_id
    return result


def _kind_of(item: str) -> str:
    return next((kind for kind in KINDS if item.startswith(kind + " ")), "")


def _tagged(wb: Workbook) -> list[str]:
    """ARNs the Resource Groups Tagging API knows with this prefix's tag (an extra check).

    It covers only the services that support it (not IAM; locally moto answers for Lambda,
    Step Functions, CloudWatch Logs and S3), and its index can lag a deletion on AWS, so
    every ARN of a kind checked above is confirmed to exist before it is reported.
    """
    tagging = wb.client("resourcegroupstaggingapi")
    arns: list[str] = []
    try:
        for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": PREFIX_KEY, "Values": [wb.names.prefix]}]):
            arns += [r["ResourceARN"] for r in page.get("ResourceTagMappingList", [])]
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return []  # a sandbox role without tag:GetResources: the per-service checks stand
        raise
    return [arn for arn in arns if arn_exists(wb, arn)]


def arn_exists(wb: Workbook, arn: str) -> bool:
    service = arn.split(":", 3)[2]
    checks: dict[str, Callable[[], object]] = {
        "lambda": lambda: wb.client("lambda").get_function(FunctionName=arn),
        "states": lambda: wb.client("stepfunctions").describe_state_machine(stateMachineArn=arn),
        "s3": lambda: wb.client("s3").head_bucket(Bucket=arn.rsplit(":", 1)[-1]),
        "dynamodb": lambda: wb.client("dynamodb").describe_table(TableName=arn.rsplit("/", 1)[-1]),
        "apigateway": lambda: wb.client("apigateway").get_rest_api(restApiId=arn.rsplit("/", 1)[-1]),
        "logs": lambda: _log_group_exists(wb, arn.split(":log-group:", 1)[-1].removesuffix(":*")),
    }
    if service not in checks or (service == "states" and ":stateMachine:" not in arn):
        return True  # a kind the workbook does not create: report it as the index has it
    try:
        return checks[service]() is not False
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise


def _log_group_exists(wb: Workbook, group: str) -> bool:
    groups = wb.client("logs").describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    return any(g["logGroupName"] == group for g in groups)
