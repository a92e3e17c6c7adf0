"""What a run of the workbook costs on AWS, estimated from list prices.

Prices are us-east-1 on-demand list prices (checked 2026-11) and change: the figures are
for orientation, not billing. Most of it falls inside the AWS Free Tier for a new account;
the estimate ignores the Free Tier so an instructor can budget a workshop.
"""

from __future__ import annotations

from dataclasses import dataclass

# USD per unit.
PRICES = {
    "api_gateway_request": 3.50 / 1_000_000,  # REST API, first 333 million requests/month
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,  # x86
    "step_functions_transition": 0.025 / 1000,  # Standard workflows
    "rekognition_image": 0.001,  # DetectLabels, first million images/month
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "dynamodb_write": 1.25 / 1_000_000,  # on-demand write request units
    "dynamodb_read": 0.25 / 1_000_000,
    "logs_gb_ingested": 0.50,
}

# What one image costs the pipeline, counted from docs/pipeline.md.
PER_IMAGE = {
    "api_gateway_request": 2,  # POST, and (at least) one GET
    "lambda_request": 6,  # api-receiver x2, uploader, detector, result-store, + a retry's worth
    "step_functions_transition": 5,  # start, 3 tasks, end
    "rekognition_image": 1,
    "s3_put": 2,  # staging, stored image
    "s3_get": 3,  # uploader reads staging, Rekognition reads the image, notebook reads it
    "dynamodb_write": 2,  # PROCESSING, then the result
    "dynamodb_read": 2,
}
LAMBDA_SECONDS_PER_IMAGE = 3.0  # all invocations together, generous
LAMBDA_MEMORY_GB = 0.25
LOG_BYTES_PER_IMAGE = 4_000


@dataclass(frozen=True)
class Estimate:
    images: int
    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def __repr__(self) -> str:
        rows = [f"{name:<28} ${cost:9.5f}" for name, cost in self.lines.items()]
        rows.append(f"{'total for ' + str(self.images) + ' images':<28} ${self.total:9.5f}")
        return "\n".join(rows)


def estimate(images: int, image_mb: float = 1.0) -> Estimate:
    """Cost of processing ``images`` images once (storage: one month), in USD."""
    lines = {name: PRICES[name] * count * images for name, count in PER_IMAGE.items()}
    lines["lambda_gb_second"] = PRICES["lambda_gb_second"] * LAMBDA_SECONDS_PER_IMAGE * LAMBDA_MEMORY_GB * images
    lines["s3_gb_month"] = PRICES["s3_gb_month"] * image_mb * images / 1024
    lines["logs_gb_ingested"] = PRICES["logs_gb_ingested"] * LOG_BYTES_PER_IMAGE * images / 1024**3
    return Estimate(images, {name: round(cost, 6) for name, cost in sorted(lines.items(), key=lambda kv: -kv[1])})
