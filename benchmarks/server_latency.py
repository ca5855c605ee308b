"""`ppodoctor server`: start-up, first diagnostics, and the time from a keystroke to its diagnostics.

Run: python benchmarks/server_latency.py [--runs 5] [--script fixtures/guide/guide_ppo.py]

A pygls client starts the server over stdio, as an editor does. Figures (minimum and median of the
runs): the `initialize` answer after spawning; the first publishDiagnostics after didOpen; a
didChange's diagnostics (the debounce delay included, app.DEBOUNCE_S) and the check alone; a quick
fix and a fix-all code action. Also the bare imports the server pays for, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def one_run(script: Path, changes: int) -> dict[str, list[float]]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    arrived: asyncio.Queue = asyncio.Queue()
    client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: arrived.put_nowait(params))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    figures: dict[str, list[float]] = {}
    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "ppodoctor", "server", env=env)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    figures["initialize answered (s after spawn)"] = [time.perf_counter() - start]
    client.initialized(types.InitializedParams())
    uri, text = script.resolve().as_uri(), script.read_text(encoding="utf-8")
    opened = time.perf_counter()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    published = await arrived.get()
    figures["first diagnostics (s after didOpen)"] = [time.perf_counter() - opened]
    figures["first diagnostics (s after spawn)"] = [time.perf_counter() - start]
    for version in range(2, 2 + changes):
        changed = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=text + "#" * version + "\n")]))
        await arrived.get()
        figures.setdefault("didChange to diagnostics (s)", []).append(time.perf_counter() - changed)
    diagnostics = published.diagnostics
    where = diagnostics[0].range if diagnostics else types.Range(types.Position(0, 0), types.Position(0, 0))
    for only, name in ((["quickfix"], "quick fix code action (s)"), (["source.fixAll"], "fix-all code action (s)")):
        asked = time.perf_counter()
        await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(uri), where, types.CodeActionContext(diagnostics=[], only=only)))
        figures[name] = [time.perf_counter() - asked]
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return figures


def import_cost(statement: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--script", type=Path, default=ROOT / "fixtures" / "guide" / "guide_ppo.py")
    args = parser.parse_args()
    from ppodoctor.server.app import DEBOUNCE_S

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, script {args.script}, "
          f"debounce {DEBOUNCE_S * 1000:.0f} ms")
    for statement in ("pass", "import libcst", "import lsprotocol.types", "import pygls.lsp.server"):
        print(f"  import cost: python -c {statement!r:<28} {import_cost(statement, args.runs) * 1000:6.0f} ms")
    merged: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for name, values in asyncio.run(one_run(args.script, args.changes)).items():
            merged.setdefault(name, []).extend(values)
    for name, values in merged.items():
        print(f"  {name:<40} min {min(values) * 1000:6.0f} ms   median {statistics.median(values) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
