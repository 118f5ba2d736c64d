"""The prompt budget and both directions of server-sent events."""

import pytest

from handler import sse
from handler.chat import prompt
from handler.chat.prompt import Layer


def _layers(size: int) -> list[Layer]:
    return [
        Layer(name, f"## {name}", name.upper() * size)
        for name in ("platform", "user", "memories", "project", "sessions", "known_logs")
    ]


def test_everything_fits_in_a_large_budget():
    convo = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    built = prompt.build(_layers(5), convo, {"role": "user", "content": "now"}, 10_000)
    assert built.dropped == ()
    # As the original: one system message per layer, most general first, then which wins.
    names = ("platform", "user", "memories", "project", "sessions", "known_logs")
    system = built.messages[: len(names) + 1]
    assert [m["role"] for m in system] == ["system"] * (len(names) + 1)
    assert [m["content"].splitlines()[0] for m in system[:-1]] == [f"## {n}" for n in names]
    assert system[0]["content"].endswith(prompt.PLATFORM_RULE)
    assert system[-1]["content"] == prompt.PRECEDENCE
    assert built.messages[len(names) + 1 :] == [*convo, {"role": "user", "content": "now"}]


def test_web_results_come_last_with_the_citation_rules_first():
    layers = [*_layers(5), Layer("web", "## Web search results (cite as [n])", "[7] Docs: text")]
    new = {"role": "user", "content": "now"}
    built = prompt.build(layers, [], new, 10_000)
    assert built.messages[0] == {"role": "system", "content": prompt.CITATION_RULES}
    assert built.messages[-2] == new
    assert built.messages[-1]["role"] == "user"
    assert "## Web search results (cite as [n])\n[7] Docs: text" in built.messages[-1]["content"]
    assert all("[7] Docs" not in m["content"] for m in built.messages[:-1])


def test_a_failed_search_ends_with_the_note_and_nothing_else_changes():
    new = {"role": "user", "content": "now"}
    plain = prompt.build(_layers(5), [], new, 10_000)
    failed = prompt.build(_layers(5), [], new, 10_000, web_unavailable=True)
    assert failed.messages == [
        *plain.messages,
        {"role": "system", "content": prompt.WEB_UNAVAILABLE},
    ]
    assert "live web results" in prompt.WEB_UNAVAILABLE


def test_no_layers_no_system_message():
    new = {"role": "user", "content": "now"}
    assert prompt.build([], [], new, 10_000).messages == [new]


def test_least_important_layers_go_first():
    convo = [{"role": "user", "content": "x" * 400}, {"role": "assistant", "content": "y" * 400}]
    new = {"role": "user", "content": "the question"}
    full = prompt.build(_layers(40), convo, new, 100_000)
    total = sum(prompt.estimate_tokens(m["content"]) + 4 for m in full.messages)
    built = prompt.build(_layers(40), convo, new, total - 50)
    assert built.dropped == ("known_logs",)
    built = prompt.build(_layers(40), convo, new, total - 200)
    assert built.dropped[:2] == ("known_logs", "sessions")
    built = prompt.build(_layers(40), convo, new, 10)
    assert built.dropped == (
        "known_logs",
        "sessions",
        "conversation:2",
        "memories",
        "project",
        "user",
        "platform",
    )
    assert built.messages == [new]  # the new message is never dropped


def test_oldest_turns_are_dropped_before_newer_ones():
    convo = [{"role": "user", "content": f"turn{i} " * 50} for i in range(4)]
    new = {"role": "user", "content": "q"}
    built = prompt.build([], convo, new, 170)  # each turn is 79 tokens, the question 5
    kept = [m["content"].split()[0] for m in built.messages[:-1]]
    assert kept == ["turn2", "turn3"]
    assert built.dropped == ("conversation:2",)


def test_encoder_splits_lines_and_writes_comments():
    assert sse.encode_data('{"a":1}') == b'data: {"a":1}\n\n'
    assert sse.encode_data("one\ntwo") == b"data: one\ndata: two\n\n"
    assert sse.encode_comment("keep-alive") == b": keep-alive\n\n"


async def _chunks(parts):
    for part in parts:
        yield part


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
async def test_parser_survives_any_split(step):
    raw = (
        'data: {"a":1}\r\n\r\n: keep\n\nid: 7\ndata: x\ndata: y\n\nevent: e\ndata: \u00e9\r\r'
        "data: [DONE]\n\n"
    ).encode()
    parts = [raw[i : i + step] for i in range(0, len(raw), step)]
    assert [e async for e in sse.parse(_chunks(parts))] == ['{"a":1}', "x\ny", "\u00e9", "[DONE]"]


async def test_parser_flushes_an_unterminated_last_event():
    assert [e async for e in sse.parse(_chunks([b"data: tail"]))] == ["tail"]
