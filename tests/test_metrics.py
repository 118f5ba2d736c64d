"""CloudWatch metrics as EMF lines, read back by a strict reader written from the spec.

The reader below knows nothing of handler/metrics.py: it checks each stdout line
against the Embedded Metric Format specification (CloudWatch User Guide,
"Specification: Embedded metric format") as CloudWatch Logs would, and returns
the data points CloudWatch would extract from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import pytest

from handler.chat.events import Delta, Done, Failed, Status
from handler.keys import DATABASE
from handler.metrics import Metric, Metrics, document
from handler.routes.answer_metrics import AnswerMeter
from handler.settings import Settings
from tests.chatstream import chat, read
from tests.standins import tavily as tv

# --- the reader ------------------------------------------------------------------------

_SIZES = [f"{p}{u}" for u in ("bytes", "bits") for p in ("", "Kilo", "Mega", "Giga", "Tera")]
_SIZES = [s[0].upper() + s[1:] for s in _SIZES]  # Bytes, Kilobytes, ..., Terabits
UNITS = [
    *("Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "None"),
    *_SIZES,
    *(f"{s}/Second" for s in _SIZES),
    "Count/Second",
]

# The structure the specification defines; objects it defines take no other members.
_STRING = {"type": "string", "minLength": 1}
SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "additionalProperties": False,
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {**_STRING, "maxLength": 255},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {**_STRING, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {**_STRING, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
_VALIDATOR = jsonschema_rs.Draft7Validator(SCHEMA)
# CloudWatch namespaces: these characters, and not AWS's own prefix.
_NAMESPACE = re.compile(r"^(?!AWS/)[A-Za-z0-9.\-_/#: ]+$")


@dataclass(frozen=True)
class Point:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    unit: str
    root: dict[str, Any]


def read_emf(line: str) -> list[Point]:
    """The data points CloudWatch extracts from one log event, or an AssertionError."""
    assert line and "\n" not in line, "one log event is one line"
    assert len(line.encode()) <= 256 * 1024, "a log event holds at most 256 KB"
    root = json.loads(line)
    assert isinstance(root, dict), "the root node is an object"
    errors = [e.message for e in _VALIDATOR.iter_errors(root)]
    assert not errors, errors
    points = []
    for directive in root["_aws"]["CloudWatchMetrics"]:
        assert _NAMESPACE.match(directive["Namespace"]), directive["Namespace"]
        for keys in directive["Dimensions"]:
            for key in keys:
                value = root.get(key)
                assert isinstance(value, str) and 1 <= len(value) <= 1024, (key, value)
        names = [m["Name"] for m in directive["Metrics"]]
        assert len(set(names)) == len(names), names
        for metric in directive["Metrics"]:
            value = root.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert len(values) <= 100, metric["Name"]
            for v in values:
                assert isinstance(v, int | float) and not isinstance(v, bool), (metric, v)
            for keys in directive["Dimensions"] or [[]]:
                dims = tuple(sorted((k, root[k]) for k in keys))
                points.extend(
                    Point(
                        directive["Namespace"],
                        metric["Name"],
                        dims,
                        v,
                        metric.get("Unit", "None"),
                        root,
                    )
                    for v in values
                )
    return points


_GOOD = {
    "_aws": {
        "Timestamp": 1764700000000,
        "CloudWatchMetrics": [
            {"Namespace": "DebugFlow", "Dimensions": [["Service"]], "Metrics": [{"Name": "M"}]}
        ],
    },
    "Service": "debugflow",
    "M": 1,
}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("Service"),  # a dimension with no value
        lambda d: d.update(M="1"),  # a metric that is not a number
        lambda d: d.update(M=True),
        lambda d: d.update(M=[1] * 101),
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d["_aws"].update(Timestamp=1.5),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="ms"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace="AWS/Lambda"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Extra=1),
    ],
)
def test_the_reader_refuses_what_the_specification_forbids(change):
    assert read_emf(json.dumps(_GOOD))[0].value == 1
    bad = json.loads(json.dumps(_GOOD))
    change(bad)
    with pytest.raises(AssertionError):
        read_emf(json.dumps(bad))


def emitted(capsys) -> list[Point]:
    """Every line the app wrote to stdout, each one read strictly."""
    return [p for line in capsys.readouterr().out.splitlines() for p in read_emf(line)]


def select(points: list[Point], name: str, **dimensions: str) -> list[Point]:
    dims = tuple(sorted({"Service": "debugflow", **dimensions}.items()))
    return [p for p in points if p.name == name and p.dimensions == dims]


def total(points: list[Point], name: str, **dimensions: str) -> float:
    return sum(p.value for p in select(points, name, **dimensions))


# --- the writer on its own ---------------------------------------------------------------


def test_a_line_reads_back_as_written():
    lines: list[str] = []
    metrics = Metrics("checkout-prod", lines.append)
    metrics.emit(
        {"Requests": Metric(1)},
        route="/api/sessions/{id}",
        by_route={"ServerErrors": Metric(1)},
        status=503,
    )
    (line,) = lines
    assert line.endswith("\n") and line.count("\n") == 1
    points = read_emf(line.rstrip("\n"))
    assert {(p.name, p.dimensions, p.value, p.unit) for p in points} == {
        ("Requests", (("Service", "checkout-prod"),), 1, "Count"),
        ("ServerErrors", (("Service", "checkout-prod"),), 1, "Count"),
        (
            "ServerErrors",
            (("Route", "/api/sessions/{id}"), ("Service", "checkout-prod")),
            1,
            "Count",
        ),
    }
    assert points[0].root["status"] == 503  # a property, not a dimension
    assert points[0].namespace == "DebugFlow"


@pytest.mark.parametrize(
    "dimensions, directives, properties",
    [
        ({"S": "x"}, [([["S"]], {f"M{i}": Metric(1) for i in range(101)})], {}),
        (
            {f"D{i}": "x" for i in range(31)},
            [([[f"D{i}" for i in range(31)]], {"M": Metric(1)})],
            {},
        ),
        ({"S": "x" * 1025}, [([["S"]], {"M": Metric(1)})], {}),
        ({"S": ""}, [([["S"]], {"M": Metric(1)})], {}),
        ({"S": "x"}, [([["S", "Missing"]], {"M": Metric(1)})], {}),
        ({"S": "x"}, [([["S"]], {"S": Metric(1)})], {}),
        ({"S": "x"}, [([["S"]], {"M": Metric(1)})], {"M": "clash"}),
    ],
    ids=["101 metrics", "31 dimensions", "long value", "empty value", "missing", "clash", "prop"],
)
def test_documents_cloudwatch_would_drop_are_refused(dimensions, directives, properties):
    with pytest.raises(ValueError):
        document("DebugFlow", dimensions, directives, properties)


def test_metrics_are_off_for_make_dev_and_on_under_lambda():
    url = {"database_url": "postgresql://u@db.internal/app"}  # required on Lambda

    def enabled(**overrides) -> bool:
        return Metrics.from_settings(Settings.from_env({}, **url, **overrides)).enabled

    assert not enabled()  # `make dev`: the terminal shows the readable log only
    assert enabled(metrics="emf")
    assert enabled(on_lambda=True)
    assert not enabled(on_lambda=True, metrics="off")
    on_lambda = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_FUNCTION_NAME": "df-prod"}
    assert Metrics.from_settings(Settings.from_env(on_lambda, **url)).service == "df-prod"


# --- wired into the app --------------------------------------------------------------------


async def test_nothing_is_written_when_metrics_are_off(make_api, capsys):
    api = await make_api()
    capsys.readouterr()
    assert (await api.call("GET", "/api/sessions")).status == 200
    assert (await api.call("GET", "/nope")).status == 404
    assert capsys.readouterr().out == ""


async def test_http_errors_are_counted_by_canonical_route(make_api, capsys):
    api = await make_api(metrics="emf")
    session = await api.json("POST", "/api/sessions", status=201)
    missing = "00000000-0000-4000-8000-000000000000"
    capsys.readouterr()
    assert (await api.call("GET", f"/api/sessions/{session['id']}")).status == 200
    assert (await api.call("GET", f"/api/sessions/{missing}")).status == 404
    assert (await api.call("GET", "/api/sessions/not-a-uuid")).status == 400
    assert (await api.call("GET", "/api/sessions", uid=None)).status == 401
    assert (await api.call("GET", "/no/such/route/12345")).status == 404

    points = emitted(capsys)
    assert total(points, "Requests") == 5
    assert total(points, "ClientErrors") == 4
    assert total(points, "ServerErrors") == 0
    assert total(points, "ClientErrors", Route="/api/sessions/{id}") == 2
    assert total(points, "ClientErrors", Route="/api/sessions") == 1
    assert total(points, "ClientErrors", Route="(unmatched)") == 1
    # Bounded: no raw path ever becomes a dimension value.
    routes = {dict(p.dimensions).get("Route") for p in points} - {None}
    assert routes == {"/api/sessions/{id}", "/api/sessions", "(unmatched)"}
    assert {p.root["status"] for p in select(points, "Requests")} == {200, 400, 401, 404}


async def test_a_database_refusal_is_a_server_error_and_counted(make_api, capsys):
    api = await make_api(metrics="emf", database_pool_max=1, database_acquire_timeout=0.2)
    assert (await api.call("GET", "/api/sessions")).status == 200
    pool = await api.app[DATABASE].pool()
    held = await pool.acquire()
    capsys.readouterr()
    try:
        assert (await api.call("GET", "/api/sessions")).status == 503
    finally:
        await pool.release(held)
    points = emitted(capsys)
    (refusal,) = select(points, "DatabaseRefusals")
    assert refusal.value == 1 and refusal.root["reason"] == "DatabaseBusy"
    assert total(points, "ServerErrors") == 1
    assert total(points, "ServerErrors", Route="/api/sessions") == 1


# --- chat answers ----------------------------------------------------------------------------


async def _answer(api, message: str = "TypeError: x is undefined"):
    session = await api.json("POST", "/api/sessions", status=201)
    return await chat(api, {"sessionId": session["id"], "message": message})


async def test_an_answer_reports_first_token_duration_and_tokens(make_chat_api, capsys):
    api = await make_chat_api(metrics="emf")
    transcript = await _answer(api)
    assert transcript.kinds()[-1] == "[DONE]"
    points = emitted(capsys)
    (first,) = select(points, "TimeToFirstToken")
    (duration,) = select(points, "AnswerDuration")
    assert first.unit == duration.unit == "Milliseconds"
    assert 0 < first.value <= duration.value
    assert total(points, "AnswerTokens") == transcript.kinds().count("content") == 7
    assert total(points, "Answers") == 1
    assert total(points, "AnswerFailures") == 0
    assert total(points, "WebSearches") == 0
    assert select(points, "WebSearchFailures") == []  # no search, no failure rate
    assert first.root["outcome"] == "done" and first.root["model"] == "test/main-model"


async def test_a_model_failure_is_counted_with_its_reason(make_chat_api, huggingface, capsys):
    api = await make_chat_api(metrics="emf")
    huggingface.status = 503
    transcript = await _answer(api)
    assert "error" in transcript.kinds()
    points = emitted(capsys)
    (failure,) = select(points, "AnswerFailures")
    assert failure.value == 1
    assert failure.root["outcome"] == "failed"
    assert failure.root["error"] == transcript.first("error")
    assert select(points, "TimeToFirstToken") == []  # no token came
    assert total(points, "AnswerTokens") == 0


@pytest.mark.parametrize("tavily_status, failed", [(200, 0), (500, 1)])
async def test_web_searches_and_their_failures(
    make_chat_api, huggingface, tavily, capsys, tavily_status, failed
):
    api = await make_chat_api(metrics="emf", tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url)
    huggingface.decision = "[SEARCH: asyncpg pool size]"
    tavily.status = tavily_status
    transcript = await _answer(api, "What pool size does asyncpg use?")
    assert transcript.kinds()[-1] == "[DONE]"  # a failed search never fails the answer
    points = emitted(capsys)
    assert total(points, "WebSearches") == 1
    assert total(points, "WebSearchFailures") == failed


def test_a_fallback_status_counts_as_a_fallback():
    """The turn announces the fallback model with a status naming it; whatever the
    status's exact wording, the meter counts it once."""
    meter = AnswerMeter(started=0.0)
    for event in (Status("building_context"), Status("model_fallback"), Delta("a"), Done()):
        meter.observe(event)
    metrics = meter.metrics()
    assert metrics["ModelFallbacks"] == Metric(1)
    assert metrics["AnswerTokens"] == Metric(1)
    assert meter.outcome == "done"
    failed = AnswerMeter(started=0.0)
    failed.observe(Failed("The model did not answer in time"))
    assert failed.metrics()["ModelFallbacks"] == Metric(0)
    assert failed.outcome == "failed"


async def test_under_lambda_every_stdout_line_with_metrics_is_valid_emf(
    start_lambda, firebase, capfd
):
    """The real runtime loop in its own process (METRICS unset: `auto`): its stdout,
    which Lambda sends to CloudWatch Logs, carries the metric lines whole, between the
    JSON log lines, named after the function."""
    url = await start_lambda(LOG_LEVEL="INFO")
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    transcript = await read(
        await url.post(
            "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
        )
    )
    assert transcript.events[-1] == "[DONE]"
    assert (await url.get("/api/sessions")).status == 401
    await url.emulator.stop_function()  # its output is all written
    lines = capfd.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r.get("message") == "request" for r in records)  # the log is there too
    points = [p for line in lines if '"_aws"' in line for p in read_emf(line)]
    service = {"Service": "debugflow-emulated"}
    assert {dict(p.dimensions)["Service"] for p in points} == set(service.values())
    (first,) = [p for p in points if p.name == "TimeToFirstToken"]
    assert first.value > 0
    assert sum(p.value for p in points if p.name == "ClientErrors") == 2  # service + route
