"""Each background request to the fast model asks for as many tokens as its job needs.

Captured by the HuggingFace stand-in over real HTTP: the title and the web-search
decision are a few words; a session summary and memory suggestions are sentences,
which the former flat cap of 64 tokens cut midway (issue 22).
"""

import pytest

from handler.chat import memories, summaries
from handler.chat.turn import TITLE_PROMPT
from handler.chat.web_lookup import DECISION_PROMPT
from handler.keys import BACKGROUND
from tests.chatstream import chat
from tests.standins import huggingface as hf
from tests.standins import tavily as tv

KINDS = {
    TITLE_PROMPT: "title",
    DECISION_PROMPT: "search decision",
    summaries.INSTRUCTION: "summary",
    memories.INSTRUCTION: "memory suggestions",
}


@pytest.fixture
async def web_api(make_chat_api, tavily):
    return await make_chat_api(tavily_api_key=tv.API_KEY, tavily_base_url=tavily.url)


def _asked(huggingface) -> dict[str, set[int]]:
    """The max_tokens each kind of fast request carried."""
    asked: dict[str, set[int]] = {}
    for request in huggingface.requests:
        if request["model"] == hf.FAST_MODEL:
            kind = KINDS[request["messages"][0]["content"]]
            asked.setdefault(kind, set()).add(request["max_tokens"])
    return asked


async def test_each_background_request_carries_the_limit_of_its_job(web_api, huggingface):
    huggingface.facts = "- Deploys with Terraform on AWS"
    sid = (await web_api.json("POST", "/api/sessions", status=201))["id"]
    first = await chat(
        web_api,
        {"sessionId": sid, "message": "My Terraform plan on AWS fails with a provider error"},
    )
    await web_api.app[BACKGROUND].drain(5)
    await chat(
        web_api,
        {
            "sessionId": sid,
            "message": "It still fails after deleting the lock file and running init again",
            "parentId": first.first("messageId"),
        },
    )
    await web_api.app[BACKGROUND].drain(5)
    assert _asked(huggingface) == {
        "title": {32},
        "search decision": {64},
        "summary": {512},
        "memory suggestions": {512},
    }
    # The answers themselves keep the model's output limit.
    assert {r["max_tokens"] for r in huggingface.main_requests()} == {65536}
