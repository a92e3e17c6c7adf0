"""Builds and deploys small Lambda functions for the local cloud tests."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile

ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from {path: source}; sources are dedented."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def role_arn(iam) -> str:
    name = "localcloud-test-lambda-role"
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]


def deploy(lambda_client, iam, source: str, *, name: str | None = None, handler: str = "app.handler",
           extra_files: dict[str, str] | None = None, **config) -> str:
    """Create a function whose app.py is ``source``; returns its name (unique unless given)."""
    name = name or f"fn-{uuid.uuid4().hex[:10]}"
    files = {"app.py": source, **(extra_files or {})}
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(iam),
        Handler=handler,
        Code={"ZipFile": make_zip(files)},
        **config,
    )
    return name
