"""The classroom: every learner's prefix in a target, how far each got, and clearing them all.

Command line (``make classroom`` and ``make classroom-clean`` call it)::

    python -m helpers.classroom status [--target local|aws] [--region R] [--port N]
    python -m helpers.classroom clean  [--target local|aws] [--region R] [--port N] [--yes]

**status** finds every learner in the target (a local cloud, or the AWS account and region the
credentials point at) and prints one row each, side by side: which notebooks each has
completed and what resources each holds. It looks in two ways and joins them:

- by *name*: every resource of the workbook's kinds whose name has the shape
  ``helpers/names.py`` gives it (``alice-image-api``, ``/aws/lambda/alice-image-uploader``...),
  which yields the prefix it was made from (``helpers.names.prefix_of``);
- by *tag*: the Resource Groups Tagging API's resources tagged ``workbook=<WORKBOOK_TAG>``,
  with their ``workbook-prefix`` (one call for the whole target; the local cloud answers it
  for S3, Lambda, DynamoDB, CloudWatch Logs and Step Functions; IAM roles and Lambda layers
  it cannot list, so those come from their own listings).

A prefix counts as a learner only when at least one of its resources carries the workbook's
tag (a layer, which cannot be tagged, by its "workbook:" description): in a shared account a
table someone else named ``prod-image-results`` is shown apart, as named like the workbook's,
and never deleted. Tagged resources with names of the learner's own choosing (an exercise's
additions) are listed with the learner as "tagged ARN".

A notebook is *completed* when every resource ``Names.inventory_by_notebook()`` assigns to it
exists (◐ when only some do); 06_end_to_end builds nothing, so it counts as completed when
every sample photo (``data/``) has a SUCCEEDED result in the learner's table.

**clean** shows the same view, asks for confirmation (``--yes`` skips the question), runs
``helpers.cleanup.delete_everything`` for each learner, then looks again and says that nothing
is left, or lists what is (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from localcloud import config, process

from . import cleanup, images, workspace
from . import target as targets
from .aws_errors import ACCESS_DENIED, error_code
from .names import PREFIX_KEY, WORKBOOK_KEY, WORKBOOK_TAG, Names, PrefixError, check_prefix, prefix_of
from .workbook import Workbook

LAYER_DESCRIPTION = "workbook:"  # how helpers/layers.py starts every layer version's description
END_TO_END = "06"  # builds nothing: completed when every sample photo has a result
# Kinds as the notebooks build them (cleanup.KINDS is the order of deletion).
BUILD_ORDER = ("S3 bucket", "IAM role", "Lambda function", "log group", "Lambda layer", "DynamoDB table",
               "state machine", "REST API")
DONE, PART, NONE = "✓", "◐", "·"
LEGEND = (f"{DONE} completed (every resource the notebook creates exists; 06: every sample photo has a "
          f"SUCCEEDED result)   {PART} part of it   {NONE} not yet")


@dataclass(frozen=True)
class Resource:
    kind: str  # one of cleanup.KINDS
    name: str
    arn: str


@dataclass
class Learner:
    prefix: str
    resources: list[Resource] = field(default_factory=list)
    tagged: list[str] = field(default_factory=list)  # ARNs tagged with the prefix, under other names
    results: int = 0  # sample photos with a SUCCEEDED record
    samples: int = 0

    def holds(self, kind: str, name: str) -> bool:
        return any(r.kind == kind and r.name == name for r in self.resources)

    @property
    def count(self) -> int:
        return len(self.resources) + len(self.tagged)


@dataclass
class Classroom:
    where: str  # "the local cloud on port 4671" or "AWS account <account>"
    region: str
    account_id: str
    learners: dict[str, Learner]
    untagged: dict[str, list[Resource]] = field(default_factory=dict)  # named like ours, not tagged by us
    mask: bool = False  # hide the account id in what is printed (AWS)

    def masked(self, text: str) -> str:
        return text.replace(self.account_id, "<account>") if self.mask and self.account_id else text


@dataclass
class Session:
    """The target, its account and one set of clients for every learner's Workbook."""

    target: targets.Target
    account_id: str
    where: str
    clients: dict[str, Any] = field(default_factory=dict)

    def workbook(self, prefix: str) -> Workbook:
        names = Names(prefix=prefix, account_id=self.account_id, region=self.target.region)
        return Workbook(target=self.target, names=names, _clients=self.clients)

    def client(self, service: str) -> Any:
        return self.workbook("classroom").client(service)


class NoLocalCloud(RuntimeError):
    """No local cloud of this user's runs on the port: there is nothing to see or clean."""


def connect(target: str = "local", region: str = config.DEFAULT_REGION, port: int | None = None) -> Session:
    """Point this process at the target, without starting a local cloud that is not running."""
    if target == "local":
        port = port or config.default_port()
        if process.find(port) is None:
            raise NoLocalCloud(f"no local cloud of yours running on port {port}: no learner has anything there "
                               "(a local cloud's resources live in its memory)")
    chosen = targets.use(target, region, port=port)
    import boto3

    account_id = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    where = f"the local cloud on port {port}" if chosen.is_local else "AWS account <account>"
    return Session(target=chosen, account_id=account_id, where=where)


# --- looking ----------------------------------------------------------------------------------

def _listed(session: Session) -> Iterator[tuple[Resource, Callable[[], bool]]]:
    """Every resource of the workbook's kinds with a workbook-shaped name, with a check of its tag."""
    client = session.client
    account, region = session.account_id, session.target.region
    partition = "aws-cn" if region.startswith("cn-") else "aws"

    for page in client("apigateway").get_paginator("get_rest_apis").paginate():
        for api in page.get("items", []):
            arn = f"arn:{partition}:apigateway:{region}::/restapis/{api['id']}"
            yield Resource("REST API", api["name"], arn), lambda api=api: _ours(api.get("tags") or {})
    for page in client("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            yield Resource("state machine", machine["name"], machine["stateMachineArn"]), lambda: False
    for page in client("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            yield Resource("Lambda function", function["FunctionName"], function["FunctionArn"]), lambda: False
    for page in client("lambda").get_paginator("list_layers").paginate():
        for layer in page["Layers"]:
            description = (layer.get("LatestMatchingVersion") or {}).get("Description", "")
            yield (Resource("Lambda layer", layer["LayerName"], layer["LayerArn"]),
                   lambda description=description: description.startswith(LAYER_DESCRIPTION))
    logs = client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/lambda/"):
        for group in page["logGroups"]:
            yield Resource("log group", group["logGroupName"], group["arn"].removesuffix(":*")), lambda: False
    iam = client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            yield Resource("IAM role", name, role["Arn"]), lambda name=name: _ours(
                {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]})
    for page in client("dynamodb").get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            arn = f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
            yield Resource("DynamoDB table", table, arn), lambda: False
    for bucket in client("s3").list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if name.endswith(f"-{account}-{region}"):  # the workbook's buckets of this account and region
            yield Resource("S3 bucket", name, f"arn:{partition}:s3:::{name}"), lambda: False


def _ours(tags: dict[str, str]) -> bool:
    return tags.get(WORKBOOK_KEY) == WORKBOOK_TAG


def _tagged(session: Session) -> dict[str, str]:
    """ARN -> workbook-prefix of every resource the Tagging API knows with the workbook's tag."""
    found: dict[str, str] = {}
    try:
        pages = session.client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(
            TagFilters=[{"Key": WORKBOOK_KEY, "Values": [WORKBOOK_TAG]}])
        for page in pages:
            for item in page.get("ResourceTagMappingList", []):
                tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                if tags.get(PREFIX_KEY):
                    found[item["ResourceARN"]] = tags[PREFIX_KEY]
    except ClientError as exc:
        if error_code(exc) not in ACCESS_DENIED:
            raise
    return found


def scan(session: Session) -> Classroom:
    """Every learner in the target, with their resources and how many sample photos have results."""
    tagged = _tagged(session)
    by_prefix: dict[str, list[tuple[Resource, Callable[[], bool]]]] = {}
    for resource, tag_check in _listed(session):
        prefix = prefix_of(resource.kind, resource.name)
        if prefix is None or not _valid(prefix):
            continue
        by_prefix.setdefault(prefix, []).append((resource, tag_check))

    learners: dict[str, Learner] = {}
    untagged: dict[str, list[Resource]] = {}
    tagged_prefixes = set(tagged.values())
    for prefix, found in by_prefix.items():
        if prefix in tagged_prefixes or any(check() for _, check in found):
            learners[prefix] = Learner(prefix, [r for r, _ in found])
        else:
            untagged[prefix] = [r for r, _ in found]
    known = {r.arn for learner in learners.values() for r in learner.resources}
    for arn, prefix in tagged.items():
        # The Tagging API's index can lag a deletion on AWS: only what still exists counts.
        if arn not in known and _valid(prefix) and cleanup.arn_exists(session.workbook(prefix), arn):
            learners.setdefault(prefix, Learner(prefix)).tagged.append(arn)
    for learner in learners.values():
        learner.resources.sort(key=lambda r: (BUILD_ORDER.index(r.kind), r.name))
        learner.tagged.sort()
        learner.samples, learner.results = _results(session.workbook(learner.prefix), learner)
    return Classroom(where=session.where, region=session.target.region, account_id=session.account_id,
                     learners=dict(sorted(learners.items())), untagged=dict(sorted(untagged.items())),
                     mask=not session.target.is_local)


def _valid(prefix: str) -> bool:
    try:
        check_prefix(prefix)
    except PrefixError:
        return False
    return True


def _results(wb: Workbook, learner: Learner) -> tuple[int, int]:
    """(sample photos, how many of them have a SUCCEEDED record in the learner's table)."""
    ids = [images.image_id(path.read_bytes()) for path in images.sample_images()]
    if not learner.holds("DynamoDB table", wb.names.table) or not ids:
        return len(ids), 0
    response = wb.client("dynamodb").batch_get_item(RequestItems={wb.names.table: {
        "Keys": [{"id": {"S": image_id}} for image_id in ids], "ConsistentRead": True,
        "ProjectionExpression": "id, #s", "ExpressionAttributeNames": {"#s": "status"}}})
    items = response.get("Responses", {}).get(wb.names.table, [])
    return len(ids), sum(item.get("status", {}).get("S") == "SUCCEEDED" for item in items)


# --- progress ---------------------------------------------------------------------------------

def progress(learner: Learner, names: Names) -> dict[str, str]:
    """Notebook number -> DONE, PART or NONE, from the inventory of each notebook."""
    marks: dict[str, str] = {}
    for number, items in names.inventory_by_notebook().items():
        if number == END_TO_END:
            marks[number] = DONE if learner.samples and learner.results == learner.samples else NONE
            continue
        present = sum(learner.holds(kind, name.split(" (")[0]) for kind, name in items)
        marks[number] = DONE if present == len(items) else PART if present else NONE
    return marks


def notebook_names() -> dict[str, str]:
    """Notebook number -> its name ("01" -> "01_image_uploader"), from the notebooks folder."""
    return {path.name[:2]: path.stem for path in sorted(workspace.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))}


def render(room: Classroom) -> str:
    """The classroom as text: a row per learner, then what each holds."""
    count = len(room.learners)
    lines = [f"Classroom: {room.where}, region {room.region}: {count} learner{'s' if count != 1 else ''}"]
    if room.learners:
        numbers = list(Names("classroom", room.account_id, room.region).inventory_by_notebook())
        stems = notebook_names()
        width = max(len("learner"), *(len(p) for p in room.learners))
        lines += ["", f"{'learner':<{width}}  " + "  ".join(numbers) + "  resources  next"]
        for prefix, learner in room.learners.items():
            marks = progress(learner, Names(prefix, room.account_id, room.region))
            following = next((n for n in numbers if marks[n] != DONE), None)
            upcoming = stems.get(following, following) if following else "all done"
            lines.append(f"{prefix:<{width}}  " + "  ".join(f"{marks[n]:<2}" for n in numbers)
                         + f"  {learner.count:>9}  {upcoming}")
        lines += [LEGEND, ""]
        for prefix, learner in room.learners.items():
            lines.append(f"{prefix}: {learner.count} resource{'s' if learner.count != 1 else ''}, "
                         f"{learner.results} of {learner.samples} sample photos with a result")
            lines += _held(learner.resources)
            lines += [f"  tagged           {arn}" for arn in learner.tagged]
    for prefix, found in room.untagged.items():
        lines += ["", f"named like the workbook's but without its tag (not a learner's; never cleaned): {prefix}"]
        lines += _held(found)
    return room.masked("\n".join(lines))


def _held(resources: list[Resource]) -> list[str]:
    by_kind: dict[str, list[str]] = {}
    for resource in resources:
        by_kind.setdefault(resource.kind, []).append(resource.name)
    return [f"  {kind:<16} {', '.join(names)}" for kind, names in by_kind.items()]


# --- cleaning ---------------------------------------------------------------------------------

def clean(session: Session, room: Classroom, out: Callable[[str], None] = print) -> Classroom:
    """Delete every learner's resources (helpers.cleanup, per prefix); the classroom as found afterwards."""
    for prefix in room.learners:
        report = cleanup.delete_everything(session.workbook(prefix))
        out(f"{prefix}:")
        out("\n".join("  " + line for line in repr(report).splitlines()))
    return scan(session)


def left_after(room: Classroom) -> str:
    """What a clean left behind, or that nothing is left."""
    if not room.learners:
        text = f"✓ nothing left: no learner's resources in {room.where}, region {room.region}"
        if room.untagged:
            text += f" (named like the workbook's but without its tag, left alone: {', '.join(room.untagged)})"
        return room.masked(text)
    lines = [f"✗ still there in {room.where}, region {room.region}:"]
    for prefix, learner in room.learners.items():
        lines += [f"  {prefix}: {r.kind} {r.name}" for r in learner.resources]
        lines += [f"  {prefix}: tagged {arn}" for arn in learner.tagged]
    lines.append("run the clean again (AWS may still be deleting), or delete these by hand")
    return room.masked("\n".join(lines))


def _confirm(room: Classroom, ask: Callable[[str], str]) -> bool:
    total = sum(learner.count for learner in room.learners.values())
    question = room.masked(f"Delete all {total} resources of {len(room.learners)} learners "
                           f"({', '.join(room.learners)}) in {room.where}, region {room.region}? Type yes: ")
    try:
        return ask(question).strip().lower() == "yes"
    except EOFError:
        return False


def main(argv: list[str] | None = None, ask: Callable[[str], str] = input) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("status", "clean"))
    parser.add_argument("--target", default="local", choices=targets.TARGETS, help="default local")
    parser.add_argument("--region", default=config.DEFAULT_REGION, help=f"default {config.DEFAULT_REGION}")
    parser.add_argument("--port", type=int, default=None,
                        help="the local cloud's port (default: $LOCALCLOUD_PORT, else your usual one)")
    parser.add_argument("--yes", action="store_true", help="clean: do not ask for confirmation")
    args = parser.parse_args(argv)
    try:
        session = connect(args.target, args.region, args.port)
    except NoLocalCloud as exc:
        print(exc)
        return 0
    room = scan(session)
    print(render(room))
    if args.command == "status":
        return 0
    if not room.learners:
        print(left_after(room))
        return 0
    print()
    if not args.yes and not _confirm(room, ask):
        print("nothing deleted (answer yes, or pass --yes: make classroom-clean YES=1)")
        return 1
    after = clean(session, room)
    print(left_after(after))
    return 0 if not after.learners else 1


if __name__ == "__main__":
    sys.exit(main())
