"""Stage throttling: a token bucket per stage, as API Gateway applies a stage's rate and burst.

A stage's default method settings (UpdateStage ``/*/*/throttling/rateLimit`` and
``/*/*/throttling/burstLimit``, kept by moto as ``methodSettings["*/*"]``) give the bucket: it
holds at most ``burst`` tokens, gains ``rate`` a second, and each request takes one; a request
that finds it empty is answered 429 ``{"message":"Too Many Requests"}`` without reaching the
integration. A stage without those settings is not throttled here (AWS's account-wide 10,000
requests a second is far beyond what the local cloud serves). Per-method settings
(``/images/POST/throttling/...``) are not applied.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STAGE_DEFAULTS = "*/*"  # the methodSettings key UpdateStage's /*/*/... paths write


@dataclass(frozen=True)
class Limits:
    rate: float  # tokens added per second
    burst: int  # the bucket's size


def limits_of(stage: Any) -> Limits | None:
    """The stage's throttling (from moto's Stage), or None when none was set."""
    settings = (getattr(stage, "method_settings", None) or {}).get(STAGE_DEFAULTS) or {}
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    if rate is None or burst is None:
        return None
    return Limits(rate=max(float(rate), 0.0), burst=max(int(burst), 0))


class _Bucket:
    def __init__(self, limits: Limits, now: float) -> None:
        self.limits, self.tokens, self.updated = limits, float(limits.burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.limits.burst, self.tokens + (now - self.updated) * self.limits.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Throttle:
    """Token buckets by (API id, stage name); thread-safe, as the server answers in threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, api_id: str, stage_name: str, limits: Limits | None) -> bool:
        if limits is None:
            return True
        key = (api_id, stage_name)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None or bucket.limits != limits:  # new stage, or UpdateStage changed it: a full bucket
                bucket = self._buckets[key] = _Bucket(limits, now)
            return bucket.take(now)


STAGES = Throttle()
