"""Background work before a freeze: all of it waited for, then a bounded cancellation."""

import asyncio
import logging

from handler.background import BackgroundTasks

WAIT = 10  # a bound on the test, not a pause


async def test_drain_waits_for_work_spawned_while_draining():
    background = BackgroundTasks()
    release = asyncio.Event()
    finished: list[str] = []

    async def second():
        for _ in range(20):  # work over many turns of the loop, as an index write is
            await asyncio.sleep(0)
        finished.append("second")

    async def first():
        waiting.set()
        await release.wait()
        background.spawn(second(), name="second")  # as a summary starts its index write
        finished.append("first")

    waiting = asyncio.Event()
    background.spawn(first(), name="first")
    await waiting.wait()
    drain = asyncio.create_task(background.drain(WAIT))
    # Released only once the drain has begun (callbacks run in the order scheduled).
    asyncio.get_running_loop().call_soon(release.set)
    await asyncio.wait_for(drain, WAIT)
    assert finished == ["first", "second"]


async def test_drain_with_no_time_cancels_and_waits_for_the_cancellation():
    background = BackgroundTasks()
    started, cleaned_up = asyncio.Event(), asyncio.Event()

    async def slow():
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()

    background.spawn(slow(), name="slow")
    await started.wait()
    await asyncio.wait_for(background.drain(0), WAIT)
    assert cleaned_up.is_set()  # it ran its clean-up before the drain returned


async def test_a_task_that_ignores_cancellation_does_not_hold_the_drain(caplog):
    background = BackgroundTasks()
    started, release = asyncio.Event(), asyncio.Event()

    async def stubborn():
        started.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a bug: swallows its cancellation

    background.spawn(stubborn(), name="stubborn")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="handler.background"):
        await asyncio.wait_for(background.drain(0), WAIT)  # returns: its wait is bounded
    assert "background task ignored its cancellation" in caplog.messages
    release.set()
    await asyncio.wait_for(background.drain(WAIT), WAIT)


async def test_a_failed_task_is_logged_with_its_traceback_and_counted(caplog):
    background = BackgroundTasks()

    async def broken():
        raise KeyError("summary")

    with caplog.at_level(logging.ERROR, logger="handler.background"):
        background.spawn(broken(), name="broken")
        await asyncio.wait_for(background.drain(WAIT), WAIT)
    (record,) = caplog.records
    assert record.getMessage() == "background task failed" and record.task == "broken"
    assert record.exc_info[0] is KeyError  # the traceback goes with it
    assert record.unexpected == "background" and record.unexpected_total >= 1
