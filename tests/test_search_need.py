"""The local pre-decision: plain cases decided here, ambiguous ones left to the fast model."""

from __future__ import annotations

import pytest

from handler.chat.search_need import MAX_LOCAL_QUERY_CHARS, Need, classify, query

NEEDS_LIVE_RESULTS = [
    "What changed in the latest release of Next.js?",
    "What's new in Python 3.13?",
    "Is the newest Prisma version compatible with Node 18?",
    "Where are the release notes for Django 5.1?",
    "Has React 19 been released yet?",
    "Is GitHub down right now? My pushes hang.",
    "When is the end of life of Node 18?",
    "Is the vercel outage over?",
    "Which ORM do people recommend for TypeScript in 2025?",
    "Did Pydantic v2 change the validator decorators? Show me the changelog.",
]

OWN_PROBLEM = [
    # JavaScript in the browser
    "TypeError: Cannot read properties of undefined (reading 'map')\n"
    "    at TodoList (webpack-internal:///./src/TodoList.jsx:14:23)\n"
    "    at renderWithHooks (react-dom.development.js:16305:18)",
    # Python
    "Traceback (most recent call last):\n"
    '  File "/app/main.py", line 12, in <module>\n'
    "    main()\n"
    "KeyError: 'user_id'",
    # Java
    'Exception in thread "main" java.lang.NullPointerException\n'
    "\tat com.example.App.run(App.java:27)\n"
    "\tat com.example.App.main(App.java:9)",
    # Go
    "panic: runtime error: index out of range [3] with length 3\n\n"
    "goroutine 1 [running]:\nmain.main()\n\t/tmp/x.go:8 +0x1d",
    # Rust compiler
    "error[E0382]: borrow of moved value: `v`\n --> src/main.rs:4:20",
    # npm
    "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
    # code, no error text
    "Why does this never print?\n```js\nconst xs = [];\nxs.forEach(x => console.log(x));\n```",
    "def total(items):\n    for i in items:\n        s += i\n    return s\nwhy is s unbound?",
    "My C program prints garbage: Segmentation fault (core dumped)",
    "ModuleNotFoundError: No module named 'requests' even though pip says it is installed",
    "thanks, that worked!",
    "ok great",
]

AMBIGUOUS = [
    "Why does that only happen after a hard refresh?",
    "How do I get the latest row per group in Postgres?",  # "latest" of the user's data
    "My latest version of the script still leaks memory, why?",
    "What is the difference between useMemo and useCallback?",
    "Error handling in Go: what is the idiomatic way?",
    "Should I use Redis or Memcached for sessions?",
    # an error after an upgrade: the user's problem and a release's, the model decides
    "After upgrading to the latest Next.js version I get\n"
    "TypeError: fetch failed\n    at node:internal/deps/undici/undici:12345:11",
    # long: the model writes a better query than the whole text
    "What changed in the latest release of Next.js? " + "I need the details. " * 20,
    "Pourquoi mon build échoue-t-il depuis la dernière version de Vite ?",
    "",
]


@pytest.mark.parametrize("message", NEEDS_LIVE_RESULTS)
def test_questions_about_what_changes_search_without_asking(message):
    assert classify(message) is Need.SEARCH


@pytest.mark.parametrize("message", OWN_PROBLEM)
def test_traces_code_and_errors_skip_the_search(message):
    assert classify(message) is Need.SKIP


@pytest.mark.parametrize("message", AMBIGUOUS)
def test_everything_else_is_asked(message):
    assert classify(message) is Need.ASK


def test_the_query_is_the_question_on_one_line():
    asked = "  What changed in the latest\n release of   Next.js?\n"
    assert classify(asked) is Need.SEARCH
    assert query(asked) == "What changed in the latest release of Next.js?"


def test_a_searched_question_fits_the_query_limit():
    asked = "What changed in the latest release of Next.js? " + "x" * 200
    assert classify(asked) is Need.SEARCH
    assert len(query(asked)) <= MAX_LOCAL_QUERY_CHARS


def test_a_pasted_log_is_read_by_its_head_and_tail():
    noise = "2026-12-02 21:00:00 INFO request served in 3 ms\n" * 20_000  # about 1 MB
    assert classify(noise + "Error: connect ECONNREFUSED 127.0.0.1:5432") is Need.SKIP
    assert classify("Traceback (most recent call last):\n" + noise) is Need.SKIP
    # What only the middle of a megabyte says is left to the model (it reads head and tail).
    assert classify(noise + "TypeError: x is undefined\n" + noise) is Need.ASK


def test_a_line_built_to_backtrack_is_cut_before_matching():
    # Without the cut, the trace pattern backtracks over this line quadratically.
    assert classify("    at " + "ab cd" * 200_000) is Need.ASK
