"""What the model receives, layer by layer, captured by the HuggingFace stand-in.

The comparison issue 22 asks for: a first message, a follow-up, a message with
global instructions, project context, memories and a related session's
summary, and the answer's budget; each framed as the original DebugFlow frames
it (one system message per layer, then which layer wins). Searches that
succeed and fail are in tests/test_web_search.py.
"""

import uuid

from handler.chat.index import SESSION_SUMMARY, Document, summary_id
from handler.chat.prompt import DEFAULT_PLATFORM_INSTRUCTIONS, PLATFORM_RULE, PRECEDENCE
from handler.keys import CHAT
from tests.chatstream import chat
from tests.prompt_capture import headings, talk
from tests.standins import huggingface as hf

ANSWER = "The bug is a missing null check."
PLATFORM = "## Platform instructions"


async def _session(api, **body) -> str:
    return (await api.json("POST", "/api/sessions", json=body, status=201))["id"]


async def test_a_first_message_is_platform_rules_reminder_and_question(chat_api, huggingface):
    sid = await _session(chat_api)
    await chat(chat_api, {"sessionId": sid, "message": "Why does parse() crash?"})
    (asked,) = huggingface.main_requests()
    assert asked["model"] == hf.MAIN_MODEL and asked["stream"] is True
    assert asked["messages"] == [
        {
            "role": "system",
            "content": f"{PLATFORM}\n{DEFAULT_PLATFORM_INSTRUCTIONS}\n\n{PLATFORM_RULE}",
        },
        {"role": "system", "content": PRECEDENCE},
        {"role": "user", "content": "Why does parse() crash?"},
    ]
    # The answer may be as long as the model's output limit (the original's 65,536).
    assert asked["max_tokens"] == 65536
    # The title stays short, on the fast model (each kind of fast request's limit:
    # tests/test_background_token_limits.py).
    fast = [r for r in huggingface.requests if r["model"] == hf.FAST_MODEL]
    assert [r["max_tokens"] for r in fast] == [32]


async def test_a_follow_up_carries_the_path_after_the_layers(chat_api, huggingface):
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "first question"})
    await chat(
        chat_api,
        {"sessionId": sid, "message": "and then?", "parentId": first.first("messageId")},
    )
    asked = huggingface.main_requests()[-1]
    assert headings(asked)[:2] == [
        "system: ## Platform instructions",
        f"system: {PRECEDENCE.splitlines()[0]}",
    ]
    assert talk(asked) == [
        ("user", "first question"),
        ("assistant", ANSWER),
        ("user", "and then?"),
    ]


async def test_every_layer_is_its_own_system_message_in_the_original_order(
    chat_api, db, huggingface
):
    await db.execute(
        "INSERT INTO global_settings (key, value) VALUES ('platform_instructions', 'Be terse.')"
    )
    await chat_api.json("PATCH", "/api/user/profile", json={"global_instructions": "I use Go."})
    await chat_api.json(
        "POST", "/api/user/memories", json={"content": "Deploys on ECS"}, status=201
    )
    project = await chat_api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    await chat_api.json(
        "PATCH", f"/api/projects/{project['id']}/context", json={"context_instructions": "Go 1.23"}
    )
    earlier = await _session(chat_api, project_id=project["id"])
    services = chat_api.app[CHAT]
    summary = "The goroutine leak came from an unclosed ticker"
    await services.index.upsert(
        Document(
            summary_id(uuid.UUID(earlier)),
            SESSION_SUMMARY,
            "Goroutine leak",
            summary,
            user_id="alice",
            project_id=uuid.UUID(project["id"]),
            session_id=uuid.UUID(earlier),
        ),
        await services.embedder.embed(f"Goroutine leak\n{summary}"),
    )
    sid = await _session(chat_api, project_id=project["id"])
    await chat(chat_api, {"sessionId": sid, "message": "goroutine leak from a ticker again"})

    asked = huggingface.main_requests()[-1]
    assert headings(asked) == [
        "system: ## Platform instructions",
        "system: ## The user's instructions",
        "system: ## What you know about the user",
        "system: ## Project instructions",
        "system: ## Summaries of the user's related sessions (cite as [n])",
        f"system: {PRECEDENCE.splitlines()[0]}",
        "user: goroutine leak from a ticker again",
    ]
    platform, user, memories, project_layer, sessions, reminder, _ = asked["messages"]
    assert platform["content"] == f"## Platform instructions\nBe terse.\n\n{PLATFORM_RULE}"
    assert user["content"].endswith("\nI use Go.")
    assert memories["content"].endswith("\n- Deploys on ECS")
    assert project_layer["content"].endswith("\nGo 1.23")
    assert sessions["content"].endswith(f"\n[1] Goroutine leak: {summary}")
    assert reminder["content"] == PRECEDENCE
    assert "Platform rules" in PRECEDENCE.splitlines()[2]


async def test_the_answer_budget_is_what_the_context_window_leaves(make_chat_api, huggingface):
    api = await make_chat_api(hf_context_tokens=20_000, context_token_budget=6_000)
    sid = await _session(api)
    question = "x" * 16_000  # 4,000 tokens, counted half again: 6,000
    await chat(api, {"sessionId": sid, "message": question})
    (asked,) = huggingface.main_requests()
    prompt_tokens = sum((len(m["content"]) + 3) // 4 + 4 for m in asked["messages"])
    assert asked["max_tokens"] == 20_000 - prompt_tokens * 3 // 2
    assert asked["max_tokens"] >= 10_000


async def test_an_answer_the_model_stopped_is_continued_with_the_whole_budget(
    chat_api, db, huggingface
):
    huggingface.words = ["Step ", "one, ", "step "]  # the model stops midway
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "explain this trace"})
    a1 = first.first("messageId")
    huggingface.words = ["two."]
    more = await chat(chat_api, {"sessionId": sid, "parentId": a1, "isContinuation": True})
    assert more.kinds()[-1] == "[DONE]" and more.text() == "two."
    continued = huggingface.main_requests()[-1]
    assert continued["max_tokens"] == 65536
    assert talk(continued)[-2] == ("assistant", "Step one, step ")
    stored = await db.fetchrow("SELECT content, model FROM messages WHERE id = $1", uuid.UUID(a1))
    assert (stored["content"], stored["model"]) == ("Step one, step two.", hf.MAIN_MODEL)


async def test_a_provider_with_a_lower_output_limit_is_asked_within_it(chat_api, huggingface):
    huggingface.max_output = 16384
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "q"})
    assert t.kinds()[-1] == "[DONE]" and t.text() == ANSWER
    refused, asked = huggingface.main_requests()
    assert (refused["max_tokens"], asked["max_tokens"]) == (65536, 16384)
    assert refused["messages"] == asked["messages"]


async def test_a_refusal_naming_no_lower_limit_is_not_repeated(chat_api, huggingface):
    huggingface.status, huggingface.error_body = 400, '{"error": "messages: invalid role"}'
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "q"})
    assert t.events[-1] == {"error": "The model service failed (HTTP 400)"}
    assert len(huggingface.main_requests()) == 1
