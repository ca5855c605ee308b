"""The warm probe worker: one process per target interpreter, serving many probe requests.

Started by path in the user's interpreter (like worker.py, whose `respond` does the work), standard
library only on its own side. It imports torch, transformers and trl once (the ~5 s a one-shot
worker pays per run), says hello, then answers line-delimited JSON requests from stdin:

    → {"id": 1, "request": {...worker.py's request...}, "timeout_s": 180}
    ← {"id": 1, "answer": {...worker.py's answer...}, "pid": ..., "served": 1, "retire": false}

Each request runs in a child forked from the warm process, so a request's models, memory cap,
crash or hang never outlive it and the warm process stays as it was after its imports. The protocol
has a file descriptor of its own (what was stdout); anything a library prints goes to stderr.

Bounded: it exits when stdin ends, after `idle_s` without a request, after `max_requests`, or when
its own memory passes `rss_limit` (the last two with `retire` in the answer, so the caller starts a
fresh one). The caller restarts it when the interpreter or its packages change (`watch` in the hello:
the directories and dist-infos whose change means that).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    sys.path.pop(0)  # the probe package's own files must not shadow the user's modules
sys.path.append(_HERE)

# Top-level packages whose modules a child imported are imported in the warm process too, after its
# answer: the next request for a model of that architecture finds them loaded. Never the user's own
# modules nor remote code (transformers_modules): those must be read afresh by every request.
LIBRARIES = ("torch", "transformers", "trl", "tokenizers", "accelerate", "datasets", "peft", "safetensors",
             "huggingface_hub")


def _preload() -> tuple[list, str]:
    """Imports what every request needs; the deprecation warnings that fired, and the error if any."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import worker
            import worker_api
            import worker_models  # noqa: F401  (and, through it, worker_trl and worker_tokenizer)

            worker.versions()
            worker_api.api_facts([])  # transformers, trl, PPOTrainer and PPOConfig wherever they live
            import transformers

            for name in ("AutoConfig", "AutoTokenizer", "AutoModelForCausalLM", "AutoModelForSequenceClassification"):
                getattr(transformers, name, None)
        except Exception as error:  # a broken install is the requests' fact to report, not the warm-up's
            return list(caught), f"{type(error).__name__}: {error}"
    return list(caught), ""


def _learn(modules: list) -> None:
    """Imports, in the warm process, the library modules a request's child needed."""
    import importlib
    import warnings

    import worker_api

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in modules:
            if name.split(".")[0] in LIBRARIES and name not in sys.modules:
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001 - a module that fails here fails in the request too, and says so
                    continue
    worker_api.EARLIER_WARNINGS.extend(caught)


_WATCHED = ("torch", "transformers", "trl")
_INSTALL_DIRECTORIES = ("site-packages", "dist-packages")


def watched_paths() -> list:
    """What changes when a package is installed, removed or upgraded: the interpreter, each
    site-packages directory on sys.path (an install adds or removes entries there) and the dist-info
    of torch, transformers and trl. Not the project's own directories (a save there is no install)."""
    found = [sys.executable]
    for entry in sys.path:
        if not entry or os.path.basename(os.path.normpath(entry)) not in _INSTALL_DIRECTORIES:
            continue
        if not os.path.isdir(entry):
            continue
        found.append(os.path.abspath(entry))
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        found.extend(os.path.join(entry, name) for name in sorted(names)
                     if name.endswith(".dist-info") and name.split("-")[0].lower() in _WATCHED)
    return found


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the peak, where /proc is absent


class Lines:
    """Lines from a file descriptor, each waited for at most a given time (select, no buffering surprises)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer = fd, b""

    def next(self, timeout: float):
        """The next line; None at the end of input, "" when `timeout` passed first."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return ""
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8")


def _child(request: dict, out: int, scratch: str) -> None:
    """In the forked child: answer, write the answer to `out`, and never return."""
    status = 0
    try:
        import tempfile

        import worker

        os.close(CHANNEL[0])  # only the warm process speaks the protocol
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.environ["TMPDIR"], tempfile.tempdir = scratch, scratch
        if request.get("cwd") and os.path.isdir(request["cwd"]):
            os.chdir(request["cwd"])
        before = set(sys.modules)
        found = worker.respond(request)
        found["imported"] = sorted(set(sys.modules) - before)
        data = (json.dumps(found, default=str) + "\n").encode("utf-8")
        while data:
            data = data[os.write(out, data):]
    except BaseException:  # noqa: BLE001 - the parent reports a child that wrote nothing
        status = 1
    finally:
        os._exit(status)


def serve(request: dict, timeout_s: float) -> dict:
    """One request in a forked child; its answer, or {"worker_error": why} when it crashed or hung."""
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="request-")  # in the worker's own TMPDIR, gone after the request
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(request, write_end, scratch)
    os.close(write_end)
    try:
        line = Lines(read_end).next(timeout_s)
        if line == "":
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(read_end)
        shutil.rmtree(scratch, ignore_errors=True)
    if line == "":
        return {"worker_error": f"the probe worker did not finish within {timeout_s:g} s"}
    if not line:
        how = f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else \
            f"exit status {os.WEXITSTATUS(status)}"
        return {"worker_error": f"the probe worker died ({how})"}
    return json.loads(line)


# The protocol's file descriptor (what was stdout), set by main; a list so the child can close it.
CHANNEL = [1]


def main() -> int:
    settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    idle_s = float(settings.get("idle_s", 600))
    max_requests = int(settings.get("max_requests", 200))
    rss_limit = int(settings.get("rss_limit", 6 << 30))
    CHANNEL[0] = os.dup(1)
    os.dup2(2, 1)  # a library's print lands in stderr, never inside the protocol
    started = time.monotonic()
    earlier, problem = _preload()
    import worker_api

    worker_api.EARLIER_WARNINGS.extend(earlier)

    def say(message: dict) -> None:
        data = (json.dumps(message, default=str) + "\n").encode("utf-8")
        while data:
            data = data[os.write(CHANNEL[0], data):]

    say({"hello": True, "pid": os.getpid(), "watch": watched_paths(), "preload_s": round(time.monotonic() - started, 3),
         "preload_error": problem, "fork": hasattr(os, "fork")})
    lines, served = Lines(0), 0
    while True:
        line = lines.next(idle_s)
        if not line:  # the end of stdin, or idle too long
            return 0
        message = json.loads(line)
        if hasattr(os, "fork"):
            found = serve(message["request"], float(message.get("timeout_s") or 180))
        else:  # no fork (Windows): answered here, without the fresh child's isolation
            import worker

            found = worker.respond(message["request"])
        served += 1
        retire = served >= max_requests or rss_bytes() > rss_limit
        learned = found.pop("imported", [])
        say({"id": message.get("id"), "answer": found, "pid": os.getpid(), "served": served, "retire": retire})
        if retire:
            return 0
        _learn(learned)


if __name__ == "__main__":
    sys.exit(main())
