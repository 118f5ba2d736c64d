"""CloudWatch metrics as Embedded Metric Format (EMF) lines on stdout.

On Lambda, stdout goes to CloudWatch Logs, which extracts the values of any
line shaped as EMF into metrics: no API call, no permission, no latency on
the request. Each line is one JSON object: the values at top level, and under
`_aws` the timestamp and which of them are metrics, with their namespace, unit
and dimensions.

Every metric has the dimension `Service` (the function's name), so two stacks
in one account never mix; HTTP errors also have `Service, Route`, the route's
canonical path (`/api/sessions/{id}`), so their number is bounded by the
routes, not by the URLs clients send. Anything else worth knowing (request id,
status, error text) rides along as a property for Logs Insights, never as a
dimension: each dimension value is a new metric, billed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from aiohttp import web

from handler.settings import Settings

NAMESPACE = "DebugFlow"
COUNT = "Count"
MILLISECONDS = "Milliseconds"
# The format's limits (CloudWatch EMF specification).
MAX_METRICS = 100
MAX_DIMENSIONS = 30
MAX_DIMENSION_VALUE = 1024
# Where a request matched no route (404, 405): one value for all of them.
UNMATCHED = "(unmatched)"


@dataclass(frozen=True, slots=True)
class Metric:
    value: float
    unit: str = COUNT


class Metrics:
    """Writes EMF lines through `write`, or nothing at all when `write` is None."""

    def __init__(
        self, service: str, write: Callable[[str], Any] | None, namespace: str = NAMESPACE
    ) -> None:
        self.service = service
        self.namespace = namespace
        self._write = write

    @classmethod
    def from_settings(cls, settings: Settings, stream: TextIO | None = None) -> Metrics:
        """On under Lambda (METRICS=auto) or with METRICS=emf; off for `make dev`."""
        on = settings.metrics == "emf" or (settings.metrics == "auto" and settings.on_lambda)
        out = stream or sys.stdout
        return cls(settings.function_name, out.write if on else None)

    @property
    def enabled(self) -> bool:
        return self._write is not None

    def emit(
        self,
        metrics: Mapping[str, Metric],
        *,
        route: str | None = None,
        by_route: Mapping[str, Metric] | None = None,
        **properties: Any,
    ) -> None:
        """One line: `metrics` per service, `by_route` per service and per `route` too."""
        if self._write is None:
            return
        dimensions = {"Service": self.service}
        directives: list[Directive] = [([["Service"]], metrics)]
        if by_route:
            if route is None:
                raise ValueError("by_route needs the route")
            dimensions["Route"] = route
            directives.append(([["Service"], ["Service", "Route"]], by_route))
        line = document(self.namespace, dimensions, directives, properties)
        self._write(json.dumps(line, separators=(",", ":"), default=str) + "\n")


# The dimension sets of some metrics, and those metrics.
Directive = tuple[Sequence[Sequence[str]], Mapping[str, Metric]]


def document(
    namespace: str,
    dimensions: Mapping[str, str],
    directives: Sequence[Directive],
    properties: Mapping[str, Any],
) -> dict[str, Any]:
    """An EMF document; the limits are checked here so a bad one fails in tests, not
    silently in CloudWatch (which drops a malformed line's metrics)."""
    values = {name: m.value for _, metrics in directives for name, m in metrics.items()}
    names = [*dimensions, *values, *properties]
    if len(set(names)) != len(names) or "_aws" in names:
        raise ValueError(f"top-level names must differ and not be _aws: {names}")
    for key, value in dimensions.items():
        if not value or len(value) > MAX_DIMENSION_VALUE:
            raise ValueError(f"dimension {key} must be 1-{MAX_DIMENSION_VALUE} characters")
    cloudwatch = []
    for dimension_sets, metrics in directives:
        if len(metrics) > MAX_METRICS:
            raise ValueError(f"at most {MAX_METRICS} metrics per directive")
        for keys in dimension_sets:
            if len(keys) > MAX_DIMENSIONS or not set(keys) <= dimensions.keys():
                raise ValueError(f"dimension set {keys} is too long or names a missing value")
        cloudwatch.append(
            {
                "Namespace": namespace,
                "Dimensions": [list(keys) for keys in dimension_sets],
                "Metrics": [{"Name": name, "Unit": m.unit} for name, m in metrics.items()],
            }
        )
    return {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": cloudwatch},
        **dimensions,
        **values,
        **properties,
    }


def route_of(request: web.BaseRequest) -> str:
    """The canonical path of the route that answered, bounded whatever the URL was."""
    match_info = getattr(request, "match_info", None)
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else UNMATCHED


METRICS = web.AppKey("metrics", Metrics)
# When the request arrived (time.perf_counter()), set by the access log.
RECEIVED_AT = web.RequestKey("received_at", float)
