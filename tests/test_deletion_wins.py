"""Deletion wins: a summary written in the background never brings a deleted session back.

The summary races the deletion in a chosen order: the Pinecone stand-in holds the
summary's upsert (or the deletion's own index call) until the test releases it.
Then retrieval is asked for the deleted session, and does not find it.
"""

import asyncio
import dataclasses
import uuid

import pytest

from handler.chat import summaries
from handler.chat.index import summary_id
from handler.keys import CHAT
from tests.standins.huggingface import embedding
from tests.standins.pinecone import API_KEY

WAIT = 30  # a bound on each step, not a pause


async def _session_due_a_summary(api, db) -> uuid.UUID:
    sid = uuid.UUID((await api.json("POST", "/api/sessions", status=201))["id"])
    for role, text in [("user", "postgres refused"), ("assistant", "start it")] * 2:
        await db.execute(
            "INSERT INTO messages (session_id, role, content) VALUES ($1, $2, $3)",
            sid,
            role,
            text,
        )
    return sid


async def _retrieved(services, sid: uuid.UUID) -> list:
    """What retrieval gives another session of the same user."""
    matches = await services.index.summaries(
        embedding("postgres refused start it"),
        user_id="alice",
        project_id=None,
        exclude_session=uuid.uuid4(),
        top_k=10,
    )
    return [m for m in matches if m.document.session_id == sid]


async def _pinecone_api(make_chat_api, pinecone):
    return await make_chat_api(pinecone_api_key=API_KEY, pinecone_index_host=pinecone.url)


async def test_a_summary_written_after_the_deletion_is_taken_back(make_chat_api, pinecone, db):
    api = await _pinecone_api(make_chat_api, pinecone)
    services = api.app[CHAT]
    sid = await _session_due_a_summary(api, db)
    pinecone.hold("upsert")
    refresh = asyncio.create_task(summaries.refresh(services, sid))
    await asyncio.wait_for(pinecone.arrived["upsert"].wait(), WAIT)
    # The deletion runs while the summary's vector is on its way.
    assert await api.json("DELETE", f"/api/sessions/{sid}") == {"success": True}
    pinecone.release("upsert")
    assert await asyncio.wait_for(refresh, WAIT) is False
    assert summary_id(sid) not in pinecone.vectors
    assert await _retrieved(services, sid) == []


async def test_a_summary_saved_during_the_deletion_waits_for_it(make_chat_api, pinecone, db):
    api = await _pinecone_api(make_chat_api, pinecone)
    services = api.app[CHAT]
    sid = await _session_due_a_summary(api, db)
    pinecone.hold("upsert")
    pinecone.hold("delete")
    refresh = asyncio.create_task(summaries.refresh(services, sid))
    await asyncio.wait_for(pinecone.arrived["upsert"].wait(), WAIT)
    deletion = asyncio.create_task(api.call("DELETE", f"/api/sessions/{sid}"))
    await asyncio.wait_for(pinecone.arrived["delete"].wait(), WAIT)
    # The deletion holds the session while the index clears it; the vector lands now,
    # and the summary's save must wait for the deletion, then find the session gone.
    pinecone.release("upsert")
    pinecone.release("delete")
    assert (await asyncio.wait_for(deletion, WAIT)).status == 200
    assert await asyncio.wait_for(refresh, WAIT) is False
    assert summary_id(sid) not in pinecone.vectors
    assert await _retrieved(services, sid) == []


async def test_a_summary_finished_before_the_deletion_is_deleted_with_it(
    make_chat_api, pinecone, db
):
    api = await _pinecone_api(make_chat_api, pinecone)
    services = api.app[CHAT]
    sid = await _session_due_a_summary(api, db)
    assert await summaries.refresh(services, sid) is True
    assert len(await _retrieved(services, sid)) == 1
    assert await api.json("DELETE", f"/api/sessions/{sid}") == {"success": True}
    assert await _retrieved(services, sid) == []


class HeldEmbedder:
    """An embedder that answers once released, so a deletion can run meanwhile."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.arrived, self.release = asyncio.Event(), asyncio.Event()

    async def embed(self, text: str) -> list[float]:
        self.arrived.set()
        await self.release.wait()
        return await self.embedder.embed(text)


async def test_on_pgvector_a_summary_of_a_deleted_session_is_not_written(make_chat_api, db, caplog):
    api = await make_chat_api()
    held = HeldEmbedder(api.app[CHAT].embedder)
    services = dataclasses.replace(api.app[CHAT], embedder=held)
    sid = await _session_due_a_summary(api, db)
    refresh = asyncio.create_task(summaries.refresh(services, sid))
    await asyncio.wait_for(held.arrived.wait(), WAIT)
    assert await api.json("DELETE", f"/api/sessions/{sid}") == {"success": True}
    held.release.set()
    assert await asyncio.wait_for(refresh, WAIT) is False
    assert await db.fetchval("SELECT count(*) FROM vector_items") == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def _waiting_on_a_lock(db) -> None:
    """Until some statement waits on a row lock: the summary's save, held by a deletion."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    while True:  # PostgreSQL announces no lock wait: polled
        if await db.fetchval(query):
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("path", ["/api/user/history", "/api/user/account"])
async def test_a_summary_saved_during_a_history_or_account_deletion_waits_for_it(
    make_chat_api, pinecone, db, path
):
    api = await _pinecone_api(make_chat_api, pinecone)
    services = api.app[CHAT]
    sid = await _session_due_a_summary(api, db)
    pinecone.hold("upsert")
    pinecone.hold("delete")
    refresh = asyncio.create_task(summaries.refresh(services, sid))
    await asyncio.wait_for(pinecone.arrived["upsert"].wait(), WAIT)
    deletion = asyncio.create_task(api.call("DELETE", path))
    await asyncio.wait_for(pinecone.arrived["delete"].wait(), WAIT)
    # The vector lands while the index is being cleared for the user; the summary's
    # save must wait for the deletion (it used to commit at once and report success).
    pinecone.release("upsert")
    lock = asyncio.create_task(_waiting_on_a_lock(db))
    await asyncio.wait([refresh, lock], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    lock.cancel()
    assert not refresh.done(), "the summary was saved while its session was being deleted"
    pinecone.release("delete")
    assert (await asyncio.wait_for(deletion, WAIT)).status == 200
    assert await asyncio.wait_for(refresh, WAIT) is False
    assert summary_id(sid) not in pinecone.vectors
    assert await _retrieved(services, sid) == []
    assert await db.fetchval("SELECT count(*) FROM sessions") == 0
