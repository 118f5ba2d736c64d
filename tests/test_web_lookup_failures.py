"""How the web step of a turn logs what goes wrong (handler/chat/web_lookup.py): an
upstream that is down or slow in one line without a traceback; anything else, a bug,
with its traceback and counted under `unexpected` (handler/unexpected.py). Either way
the turn goes on without the web: the step answers None."""

import logging

import pytest

from handler.chat import web_lookup
from handler.keys import CHAT
from tests.standins import tavily as tv

RECENT = [{"role": "user", "content": "what changed in asyncpg 0.30?"}]
WITHIN = 30.0  # a bound on the decision, not a pause


class BrokenSearch:
    """A WebSearch with a bug in it: what no upstream failure looks like."""

    async def available(self) -> bool:
        raise KeyError("a bug in the key lookup")

    async def search(self, query: str) -> list:
        raise KeyError("a bug in the search")


@pytest.fixture(autouse=True)
def _warnings(caplog):
    caplog.set_level(logging.INFO)


@pytest.fixture
async def services(make_chat_api, tavily):
    api = await make_chat_api(tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url)
    return api.app[CHAT]


def _records(caplog, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


async def test_a_decision_model_that_is_down_is_one_line(
    make_chat_api, tavily, huggingface, caplog
):
    down = "test/down-model"  # the stand-in answers it 503
    huggingface.model_status[down] = 503
    api = await make_chat_api(
        tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url, hf_fast_model=down
    )
    services = api.app[CHAT]
    pool = await services.database.pool()
    web = services.web_search
    assert await web_lookup.decide(web, services.model, pool, RECENT, WITHIN) is None
    (record,) = _records(caplog, "web search decision failed")
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.error_type == "ModelUnavailable" and not hasattr(record, "unexpected")


async def test_a_bug_in_the_decision_is_logged_with_its_traceback(services, caplog):
    pool = await services.database.pool()
    query = await web_lookup.decide(BrokenSearch(), services.model, pool, RECENT, WITHIN)
    assert query is None
    (record,) = _records(caplog, "web search decision failed")
    assert record.levelname == "ERROR" and record.unexpected == "web_decision"
    assert record.exc_info[0] is KeyError


async def test_a_bug_in_the_search_is_logged_with_its_traceback(caplog):
    assert await web_lookup.search(BrokenSearch(), "asyncpg 0.30", WITHIN) is None
    (record,) = _records(caplog, "web search failed")
    assert record.levelname == "ERROR" and record.unexpected == "web_search"
    assert record.exc_info[0] is KeyError
