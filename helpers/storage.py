"""The pipeline's S3 bucket and DynamoDB table, created idempotently and locked down."""

from __future__ import annotations

import json
from typing import Any

from . import policies
from .workbook import Workbook

STAGING_EXPIRY_DAYS = 1  # staged bytes the workflow never picked up do not linger
UPLOAD_EXPIRY_DAYS = 1  # nor do images uploaded straight to S3 (07) that nothing took


def ensure_bucket(wb: Workbook) -> str:
    """A private bucket: public access blocked, encrypted at rest, owner-enforced, tagged."""
    s3 = wb.client("s3")
    bucket = wb.names.bucket
    try:
        if wb.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": wb.region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists) as exc:
        if isinstance(exc, s3.exceptions.BucketAlreadyExists):
            raise RuntimeError(f"bucket {bucket} belongs to another account; choose another prefix") from exc
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [
            {"ID": "expire-staged-uploads", "Status": "Enabled", "Filter": {"Prefix": "staging/"},
             "Expiration": {"Days": STAGING_EXPIRY_DAYS}},
            {"ID": "expire-direct-uploads", "Status": "Enabled", "Filter": {"Prefix": "uploads/"},
             "Expiration": {"Days": UPLOAD_EXPIRY_DAYS}},
        ]},
    )
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": wb.names.tag_list()})
    if not wb.is_local:
        # HTTPS only. Not on the local cloud: its endpoint is plain HTTP on the loopback, where
        # the policy would, as on AWS, refuse every request (moto even ignores the condition).
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policies.bucket_policy(wb.names)))
    return bucket


def bucket_settings(wb: Workbook) -> dict[str, Any]:
    """What a learner should check: the bucket is private, encrypted and tagged."""
    s3 = wb.client("s3")
    bucket = wb.names.bucket
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    return {
        "bucket": bucket,
        "public access blocked": all(block.values()),
        "encryption": rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "tags": {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]},
    }


def empty_and_delete_bucket(wb: Workbook) -> int:
    """Delete every object (all versions) and the bucket; returns how many objects were removed."""
    s3 = wb.client("s3")
    bucket = wb.names.bucket
    removed = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                removed += len(objects)
        s3.delete_bucket(Bucket=bucket)
    except s3.exceptions.NoSuchBucket:
        return 0
    return removed


def ensure_table(wb: Workbook) -> str:
    """The results table: one item per image id, on-demand capacity, tagged."""
    ddb = wb.client("dynamodb")
    table = wb.names.table
    try:
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            SSESpecification={"Enabled": True},
            Tags=wb.names.tag_list(),
        )
    except ddb.exceptions.ResourceInUseException:
        pass
    ddb.get_waiter("table_exists").wait(TableName=table)
    return table


def delete_table(wb: Workbook) -> bool:
    ddb = wb.client("dynamodb")
    try:
        ddb.delete_table(TableName=wb.names.table)
    except ddb.exceptions.ResourceNotFoundException:
        return False
    ddb.get_waiter("table_not_exists").wait(TableName=wb.names.table)
    return True
