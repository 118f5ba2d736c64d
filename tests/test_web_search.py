"""Chat that searches the web, end to end: the HuggingFace and Tavily stand-ins on loopback.

The fast model decides (`[SEARCH: query]` or `[NO_SEARCH]`), Tavily answers,
and the stream carries `searching`, `reading`, `generating`, then one
numbered `sources` list the answer cites and the message keeps. Whatever goes
wrong with the decision or the search, the answer still streams to [DONE].
"""

import logging
import uuid

import pytest

from handler.chat.prompt import CITATION_RULES, WEB_UNAVAILABLE
from handler.chat.web_lookup import DECISION_PROMPT, parse_decision
from handler.chat.web_search import MAX_QUERY_CHARS, WebSearchError, _results
from tests.chatstream import chat
from tests.prompt_capture import system_text
from tests.standins import tavily as tv

ANSWER = "The bug is a missing null check."
SEARCH = "[SEARCH: asyncpg 0.30 default pool size]"
WEB_SOURCES = [
    {"index": 1, "title": "Release notes 1", "url": "https://docs.example.com/releases/1"},
    {"index": 2, "title": "Release notes 2", "url": "https://docs.example.com/releases/2"},
]
SEARCHED = ["building_context", "searching", "reading", "generating", "sources"]
APP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:debugflow-app-AbCdEf"


@pytest.fixture
async def web_api(make_chat_api, tavily):
    return await make_chat_api(tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url)


async def _session(api) -> str:
    return (await api.json("POST", "/api/sessions", status=201))["id"]


def _contract(kinds: list[str]) -> list[str]:
    """The stream without titles (they may come anywhere) and with deltas collapsed."""
    out: list[str] = []
    for kind in kinds:
        if kind != "title" and not (kind == "content" and out and out[-1] == "content"):
            out.append(kind)
    return out


async def test_search_decided_and_used(web_api, db, huggingface, tavily):
    huggingface.decision = SEARCH
    huggingface.words = ["Set ", "max_size ", "to ", "10 ", "[1]; ", "see ", "[2]."]
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "What pool size does asyncpg use?"})
    assert _contract(t.kinds()) == [
        "connecting",
        "userMessageId",
        "messageId",
        *SEARCHED,
        "content",
        "[DONE]",
    ]
    assert t.first("sources") == WEB_SOURCES

    (decision,) = huggingface.decision_requests()
    assert decision["messages"][0]["content"] == DECISION_PROMPT
    assert decision["max_tokens"] <= 64  # the fast model, a few tokens
    assert "What pool size does asyncpg use?" in decision["messages"][1]["content"]
    (searched,) = tavily.requests
    assert searched["query"] == "asyncpg 0.30 default pool size"
    assert (searched["search_depth"], searched["max_results"]) == ("basic", 5)
    # As the original: the citation rules first, the results as the last user turn.
    asked = huggingface.main_requests()[-1]
    first, *_, question, results = asked["messages"]
    assert first == {"role": "system", "content": CITATION_RULES}
    assert question == {"role": "user", "content": "What pool size does asyncpg use?"}
    assert results["role"] == "user"
    assert "## Web search results (cite as [n])" in results["content"]
    assert "[1] Release notes 1 (docs.example.com): Version 1.0" in results["content"]
    assert "Release notes" not in system_text(asked)
    assert WEB_UNAVAILABLE not in system_text(asked)

    # The citations and their sources are the stored message's, after a reload too.
    messages = await web_api.json("GET", f"/api/sessions/{sid}/messages")
    assert messages[1]["content"] == "Set max_size to 10 [1]; see [2]."
    assert messages[1]["sources"] == WEB_SOURCES
    assert messages[0]["sources"] == []


async def test_web_sources_follow_known_logs_in_one_list(web_api, huggingface, tavily):
    from handler.chat.index import KNOWN_LOG, Document
    from handler.keys import CHAT

    services = web_api.app[CHAT]
    text = "asyncpg TooManyConnectionsError pool exhausted"
    await services.index.upsert(
        Document("log:pool", KNOWN_LOG, "Pool exhausted", text, url="https://wiki.example/pool"),
        await services.embedder.embed(text),
    )
    huggingface.decision = SEARCH
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "asyncpg pool exhausted"})
    assert t.kinds().count("sources") == 1
    assert t.first("sources") == [
        {"index": 1, "title": "Pool exhausted", "url": "https://wiki.example/pool"},
        {**WEB_SOURCES[0], "index": 2},
        {**WEB_SOURCES[1], "index": 3},
    ]


async def test_the_decision_reads_the_last_two_messages(web_api, huggingface, tavily):
    sid = await _session(web_api)
    first = await chat(web_api, {"sessionId": sid, "message": "FIRST question"})
    await chat(
        web_api,
        {"sessionId": sid, "message": "SECOND question", "parentId": first.first("messageId")},
    )
    asked = huggingface.decision_requests()[-1]["messages"][1]["content"]
    assert "SECOND question" in asked and ANSWER in asked
    assert "FIRST question" not in asked


async def test_no_search_decision(web_api, huggingface, tavily):
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "Why does parse() crash?"})
    assert len(huggingface.decision_requests()) == 1
    assert tavily.requests == []
    assert _contract(t.kinds()) == [
        "connecting",
        "userMessageId",
        "messageId",
        "building_context",
        "content",
        "[DONE]",
    ]
    assert t.text() == ANSWER


async def test_a_long_query_is_cut_to_what_tavily_accepts(web_api, huggingface, tavily):
    huggingface.decision = f"[SEARCH: {'x' * 600}]"
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "q"})
    assert t.first("sources") == WEB_SOURCES
    assert len(tavily.requests[0]["query"]) == MAX_QUERY_CHARS


FAILURES = {
    "timeout": {"delay": 5.0},
    "500": {"status": 500},
    "503": {"status": 503},
    "429": {"status": 429},
    "not json": {"raw_body": "<html>Bad gateway</html>"},
    "no results list": {"raw_body": '{"results": "none"}'},
    "json array": {"raw_body": "[1, 2]"},
    "only unusable results": {
        "raw_body": '{"results": [{"title": "x", "url": "javascript:alert(1)"}, 7, null]}'
    },
}


@pytest.mark.parametrize("fault", FAILURES.values(), ids=FAILURES.keys())
async def test_a_failed_search_still_answers(make_chat_api, db, huggingface, tavily, caplog, fault):
    caplog.set_level(logging.WARNING)
    api = await make_chat_api(
        tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url, tavily_timeout=0.3
    )
    for name, value in fault.items():
        setattr(tavily, name, value)
    huggingface.decision = SEARCH
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert len(tavily.requests) == 1
    assert _contract(t.kinds()) == [
        "connecting",
        "userMessageId",
        "messageId",
        "building_context",
        "searching",
        "generating",
        "content",
        "[DONE]",
    ]
    assert t.text() == ANSWER
    stored = await db.fetchval(
        "SELECT sources FROM messages WHERE session_id = $1 AND role = 'assistant'",
        uuid.UUID(sid),
    )
    assert stored == "[]"
    assert any("web search failed" in r.getMessage() for r in caplog.records)


async def test_a_rejected_key_still_answers(make_chat_api, huggingface, tavily, caplog):
    caplog.set_level(logging.WARNING)
    api = await make_chat_api(tavily_api_key="tvly-revoked", tavily_base_url=tavily.url)
    huggingface.decision = SEARCH
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert "sources" not in t.kinds() and t.kinds()[-1] == "[DONE]"
    (record,) = [r for r in caplog.records if "web search failed" in r.getMessage()]
    assert record.status == 401
    assert "HTTP 401" in record.reason and "tvly-revoked" not in record.reason


async def test_tavily_error_text_is_logged_sanitised(make_chat_api, huggingface, tavily, caplog):
    """An upstream that echoes the request's key into its error: the log has a status and
    a bounded reason, never the key nor anything key-like."""
    caplog.set_level(logging.WARNING)
    api = await make_chat_api(tavily_api_key="tvly-revoked-0123456789", tavily_base_url=tavily.url)
    tavily.echo_credentials = True
    huggingface.decision = SEARCH
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert t.kinds()[-1] == "[DONE]"
    (record,) = [r for r in caplog.records if "web search failed" in r.getMessage()]
    assert record.status == 401
    assert "Unauthorized" in record.reason and len(record.reason) < 200
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "0123456789" not in logged and "\n" not in record.reason
    # The model is told the search failed, and asked to say so.
    assert huggingface.main_requests()[-1]["messages"][-1] == {
        "role": "system",
        "content": WEB_UNAVAILABLE,
    }


async def test_a_slow_decision_is_not_waited_for_long(web_api, huggingface, tavily):
    """The decision runs alongside retrieval and is bounded; 5 s is Timing's default."""
    huggingface.decision = SEARCH
    huggingface.decision_delay = 30
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "q"})
    assert tavily.requests == []
    assert "searching" not in t.kinds() and t.kinds()[-1] == "[DONE]"


@pytest.mark.parametrize(("stored", "searches"), [(None, True), ("true", True), ("false", False)])
async def test_the_platform_setting(web_api, db, huggingface, tavily, stored, searches):
    """Unset means on, as in the original (systemSettingsService.js defaults it to "true")."""
    if stored is not None:
        await db.execute(
            "INSERT INTO global_settings (key, value) VALUES ('web_search_enabled', $1)", stored
        )
    huggingface.decision = SEARCH
    sid = await _session(web_api)
    t = await chat(web_api, {"sessionId": sid, "message": "q"})
    assert ("searching" in t.kinds()) is searches
    assert len(tavily.requests) == len(huggingface.decision_requests()) == int(searches)
    assert t.kinds()[-1] == "[DONE]"


async def test_no_key_no_search(make_chat_api, huggingface, tavily):
    api = await make_chat_api(tavily_base_url=tavily.url)
    huggingface.decision = SEARCH
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert huggingface.decision_requests() == [] and tavily.requests == []
    assert "searching" not in t.kinds() and t.kinds()[-1] == "[DONE]"


async def test_the_offline_model_never_searches(make_api, tavily, caplog):
    caplog.set_level(logging.WARNING)
    api = await make_api(tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url)
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "What changed in the latest release?"})
    assert t.events[0]["model"] == "offline"
    assert tavily.requests == []
    assert "searching" not in t.kinds() and t.kinds()[-1] == "[DONE]"
    assert any("offline model never searches" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("in_secret", [True, False])
async def test_the_key_can_come_from_the_app_secret(
    make_chat_api, extension, huggingface, tavily, in_secret
):
    extension.secrets[APP_ARN] = {"TAVILY_API_KEY": tv.API_KEY} if in_secret else {}
    api = await make_chat_api(
        app_secrets_arn=APP_ARN,
        secrets_extension_port=extension.port,
        tavily_base_url=tavily.url,
    )
    huggingface.decision = SEARCH
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert (t.kinds().count("sources") == 1) is in_secret
    assert len(tavily.requests) == len(huggingface.decision_requests()) == int(in_secret)
    assert t.kinds()[-1] == "[DONE]"


@pytest.mark.parametrize(
    ("reply", "query"),
    [
        ("[SEARCH: asyncpg pool size]", "asyncpg pool size"),
        ("  [search:\n  asyncpg   pool ]  ", "asyncpg pool"),
        ('[SEARCH: "quoted query"]', "quoted query"),
        ("[NO_SEARCH]", None),
        ("[SEARCH: ]", None),
        ("I would search for it", None),
        ("", None),
    ],
)
def test_parse_decision(reply, query):
    assert parse_decision(reply) == query


def test_results_keep_only_linkable_ones():
    body = (
        b'{"results": [{"title": "A", "url": "https://a.example/x", "content": "a\\u0000b"},'
        b'{"title": "", "url": "http://b.example"},'
        b'{"title": "C", "url": "javascript:alert(1)"},'
        b'{"title": "D", "url": "https://d.example/with space"},'
        b'{"title": "G", "url": "http://[::1"}, {"title": "H", "url": "https:///path"},'
        b'{"title": "E"}, "F"]}'
    )
    assert [(r.title, r.url, r.content) for r in _results(body)] == [
        ("A", "https://a.example/x", "ab"),
        ("http://b.example", "http://b.example", ""),
    ]
    with pytest.raises(WebSearchError):
        _results(b"not json")
