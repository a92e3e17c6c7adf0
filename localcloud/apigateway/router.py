"""Matching a request path and method to a deployed resource and method.

A resource path is a list of segments, each a literal (``photos``), a parameter (``{id}``)
or, last only, a greedy parameter (``{proxy+}``) that takes one or more remaining segments.
Of the resources whose path matches, the most specific one (compared segment by segment:
literal, then parameter, then greedy) that has at least one method wins; resources without
methods (intermediate ones, as SAM and CDK create) are skipped. If the winner declares neither
the request's method nor ``ANY``, there is no route: API Gateway then answers 403 Missing
Authentication Token instead of falling back to a less specific resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .deployments import DeployedResource

_LITERAL, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Route:
    resource: DeployedResource
    method: Any  # moto Method
    path_parameters: Mapping[str, str]


def split_path(path: str) -> list[str]:
    """Segments of a request or resource path; empty segments (``//``, trailing ``/``) dropped."""
    return [segment for segment in path.split("/") if segment]


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAM
    return _LITERAL


def match_path(template: str, request_segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity key, path parameters) when ``template`` matches, else None. Lower key wins."""
    template_segments = split_path(template)
    key: list[int] = []
    params: dict[str, str] = {}
    for index, segment in enumerate(template_segments):
        kind = _segment_kind(segment)
        if kind == _GREEDY:
            rest = request_segments[index:]
            if index != len(template_segments) - 1 or not rest:
                return None
            params[segment[1:-2]] = "/".join(rest)
            key.append(kind)
            return tuple(key), params
        if index >= len(request_segments):
            return None
        value = request_segments[index]
        if kind == _LITERAL and value != segment:
            return None
        if kind == _PARAM:
            params[segment[1:-1]] = value
        key.append(kind)
    if len(template_segments) != len(request_segments):
        return None
    return tuple(key), params


def match(resources: Iterable[DeployedResource], http_method: str, path: str) -> Route | None:
    """The route serving ``http_method path``, or None (API Gateway: Missing Authentication Token)."""
    segments = split_path(path)
    best: tuple[tuple[int, ...], DeployedResource, dict[str, str]] | None = None
    for resource in resources:
        if not resource.methods:
            continue
        found = match_path(resource.path, segments)
        if found is None:
            continue
        key, params = found
        if best is None or key < best[0]:
            best = (key, resource, params)
    if best is None:
        return None
    _, resource, params = best
    method = resource.methods.get(http_method.upper()) or resource.methods.get("ANY")
    if method is None:
        return None
    return Route(resource=resource, method=method, path_parameters=params)
