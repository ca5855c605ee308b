"""Worker processes for a scan's checks, stopped at once when the scan stops early.

multiprocessing.Pool is not used: its terminate() asks the workers to stop with SIGTERM and then
waits for them and for its three handler threads. A worker that does not die of SIGTERM (one that
inherited a host program's graceful-shutdown handler, or sits in a long C call under one) keeps an
interrupted scan waiting for its file, and then for ever: terminate() has taken the lock of the task
queue for good, and the worker, its file done, waits on that lock. (A worker that dies mid-task,
killed or out of memory, leaves Pool waiting for its answer for ever too.) Here each worker has a
pipe of its own to the parent, which hands it one item at a time; on Ctrl-C, an error, or a consumer
that stops early, the parent kills every worker with SIGKILL and reaps it, without waiting for the
file in progress. Workers write no files, so there is nothing of theirs to clean up.

An item whose worker failed (it raised, or died: out of memory, killed) is run in the parent, so
that the result, or the error, is what the serial path gives.
"""

from __future__ import annotations

import signal
from typing import Any, Callable, Iterator, Sequence

# work(state, item) -> result; `state` reaches each worker once (pickled only where workers are spawned).
Work = Callable[[Any, Any], Any]


def run_unordered(work: Work, state: Any, items: Sequence, workers: int, context) -> Iterator:
    """work(state, item) for every item (none of them None), in up to `workers` processes of the
    multiprocessing `context`, results in the order they come in. `work` is a module-level function
    (spawned workers import it). Workers that cannot be started leave their share to the others, or
    to this process."""
    pool: list[tuple[Any, Any]] = []  # (process, the parent's end of its pipe)
    try:
        _start(pool, work, state, workers, context)
        yield from _feed(pool, work, state, items)
        for _process, connection in pool:
            _send_quietly(connection, None)  # no more work: each worker exits
        for process, _connection in pool:
            process.join(_EXIT_S)
    finally:  # also on Ctrl-C, an error, or a consumer that stopped early (GeneratorExit)
        _kill(pool)  # every worker still running: its file in progress is not waited for
        for _process, connection in pool:
            connection.close()


_EXIT_S = 5.0  # how long a worker told that the work is done may take to exit before it is killed


def _start(pool: list, work: Work, state: Any, workers: int, context) -> None:
    # Workers are born with SIGINT blocked, so that none can die of a Ctrl-C (with a traceback of
    # its own) before _serve ignores it. The parent takes the Ctrl-C, as soon as SIGINT is unblocked.
    masking = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masking else None
    try:
        for _ in range(workers):
            mine, theirs = context.Pipe()
            try:
                process = context.Process(target=_serve, args=(theirs, work, state), daemon=True,
                                          name="ppodoctor-worker")
                process.start()
            except BaseException as error:
                mine.close()
                if isinstance(error, OSError):  # out of processes or memory: the others (or this
                    break  # process) take its share
                raise
            finally:
                theirs.close()
            pool.append((process, mine))
    finally:
        if masking:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _feed(pool: list, work: Work, state: Any, items: Sequence) -> Iterator:
    """Hand each idle worker the next item, yield each answer as it comes; a failed item is run here."""
    from multiprocessing.connection import wait

    queue = list(reversed(items))  # popped from the end: items go out in the order given
    busy: dict[Any, Any] = {}  # connection -> the item its worker has
    idle = [connection for _process, connection in pool]
    answers: list = []
    here: list = []  # items to run in this process: their worker failed, or is gone
    while queue or busy or answers or here:
        while idle and queue:  # every idle worker has its next item before anything is yielded
            connection, item = idle.pop(), queue.pop()
            if _send_quietly(connection, item):
                busy[connection] = item
            else:  # the worker is gone: it gets no more
                here.append(item)
        if answers:
            yield answers.pop()
        elif here:
            yield work(state, here.pop())  # while the workers go on with theirs
        elif busy:
            for connection in wait(list(busy)):
                item = busy.pop(connection)
                try:
                    done, answer = connection.recv()
                except (EOFError, OSError):  # the worker died with the item
                    here.append(item)
                    continue
                idle.append(connection)
                if done:
                    answers.append(answer)
                else:
                    here.append(item)
        else:  # no worker left, or none could start: the rest is run here
            here, queue = queue, []


def _send_quietly(connection, item) -> bool:
    try:
        connection.send(item)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def _kill(pool: list) -> None:
    """SIGKILL every worker, then reap them: a worker cannot delay it, whatever it is doing."""
    for process, _connection in pool:
        if process.exitcode is None:
            try:
                process.kill()
            except OSError:  # already gone
                pass
    for process, _connection in pool:
        process.join()


def _serve(connection, work: Work, state: Any) -> None:
    """A worker: answer (True, result) for each item, (False, None) when work raised; None ends it."""
    from multiprocessing.reduction import ForkingPickler  # what Connection.send and recv use

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    while True:
        try:
            item = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if item is None:
            return
        try:
            answer = ForkingPickler.dumps((True, work(state, item)))
        except Exception:  # noqa: BLE001 - it raised, or its answer cannot be pickled: the parent
            answer = ForkingPickler.dumps((False, None))  # runs the item itself (and meets the error)
        try:
            connection.send_bytes(answer)
        except OSError:  # the parent is gone
            return
