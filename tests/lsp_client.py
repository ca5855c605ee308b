"""A real LSP client (pygls's) driving `python -m ppodoctor server` over stdio, for the tests.

The session owns an event loop that runs only inside its calls, so plain (synchronous) tests can
drive it step by step; the server keeps running between steps. Edits are applied here by this
module's own UTF-16 arithmetic, not the server's, so a wrong position cannot cancel itself out.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 90.0  # a step that hangs fails; a loaded CI machine is slow, not broken
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def apply_text_edits(text: str, edits) -> str:
    """Apply LSP TextEdits (UTF-16 positions) the way an editor does: all against the old text."""
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        line_end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
        line = text[starts[position.line]:line_end].rstrip("\r\n")
        prefix = line.encode("utf-16-le")[:2 * position.character].decode("utf-16-le")
        return starts[position.line] + len(prefix)

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits),
                   key=lambda item: item[:2])
    out, cursor = [], 0
    for start, end, new in spans:
        assert start >= cursor, "overlapping edits"
        out.append(text[cursor:start])
        out.append(new)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def edits_of(edit: types.WorkspaceEdit, uri: str) -> list:
    if edit.document_changes:
        return [e for change in edit.document_changes if change.text_document.uri == uri for e in change.edits]
    return list((edit.changes or {}).get(uri, ()))


class _Client(LanguageClient):
    returncode: Optional[int] = None

    async def server_exit(self, server) -> None:
        self.returncode = server.returncode


class Session:
    def __init__(self, initialization_options: Any = None, configuration: Any = None, root: Optional[Path] = None,
                 document_changes: bool = False, env: Optional[dict] = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = _Client("ppodoctor-tests", "1")
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.shown: list[str] = []
        self.logged: list[str] = []
        self.configuration = configuration  # what the client answers to workspace/configuration
        self.configuration_requests = 0
        self._arrived = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self._arrived.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def shown(params: types.ShowMessageParams) -> None:
            self.shown.append(params.message)
            self._arrived.set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            self.logged.append(params.message)

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list:
            self.configuration_requests += 1
            return [self.configuration for _item in params.items]

        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        environment.update(env or {})
        self.run(self.client.start_io(sys.executable, "-m", "ppodoctor", "server", env=environment))
        workspace = types.WorkspaceClientCapabilities(
            configuration=configuration is not None,
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=document_changes))
        self.capabilities = self.run(self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(workspace=workspace),
            root_uri=root.as_uri() if root else None, initialization_options=initialization_options))).capabilities
        self.client.initialized(types.InitializedParams())

    def run(self, coroutine):
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, TIMEOUT_S))

    # --- waiting --------------------------------------------------------------------------------
    def mark(self, uri: str) -> int:
        return len(self.published.get(uri, ()))

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        async def waiting() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

        try:
            self.run(waiting())
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; published: {self.published}") from None

    def diagnostics_after(self, uri: str, mark: int, version: Optional[int] = None,
                          where: Optional[Callable[[list], bool]] = None) -> list[types.Diagnostic]:
        """The diagnostics of the first publication for `uri` after `mark` with `version` (if given)
        whose diagnostics satisfy `where` (if given)."""
        def matching():
            return [p for p in self.published.get(uri, ())[mark:]
                    if (version is None or p.version == version) and (where is None or where(p.diagnostics))]

        self.wait(lambda: bool(matching()), f"diagnostics for {uri} (version {version})")
        return list(matching()[0].diagnostics)

    def settle(self, seconds: float = 0.5) -> None:
        self.run(asyncio.sleep(seconds))

    # --- the document protocol --------------------------------------------------------------------
    def open(self, uri: str, text: str, version: int = 1, language: str = "python") -> list[types.Diagnostic]:
        mark = self.mark(uri)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, language, version, text)))
        return self.diagnostics_after(uri, mark, version)

    def change(self, uri: str, text: str, version: int, wait: bool = True) -> list[types.Diagnostic]:
        mark = self.mark(uri)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=text)]))
        return self.diagnostics_after(uri, mark, version) if wait else []

    def save(self, uri: str) -> int:
        mark = self.mark(uri)
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
        return mark

    def close(self, uri: str) -> list[types.Diagnostic]:
        mark = self.mark(uri)
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
        return self.diagnostics_after(uri, mark)

    def code_actions(self, uri: str, range_: types.Range, only: Optional[list[str]] = None,
                     diagnostics: Optional[list] = None) -> list[types.CodeAction]:
        return list(self.run(self.client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(uri), range_,
            types.CodeActionContext(diagnostics=diagnostics or [], only=only)))) or [])

    def configure(self, settings: Any, push: Any = None) -> None:
        """The user changed the settings: the client answers the next pull with them."""
        self.configuration = settings
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=push))

    def execute(self, command: str, *arguments: Any) -> Any:
        return self.run(self.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command, arguments=list(arguments))))

    def close_session(self) -> Optional[int]:
        """shutdown, exit; the server's exit status."""
        try:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.run(self.client.stop())
            return self.client.returncode
        finally:
            self.loop.close()
