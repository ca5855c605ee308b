"""The language server: pygls handles JSON-RPC, document sync and the capability handshake;
this module says when to check, what to publish and what a code action or the probe command does.

On a keystroke only the static check runs (libcst, the rules: no torch), a short while after the
typing stops. The runtime probe runs on save when `probeOnSave` is on (the static findings are
published first, then again with the verdicts), or on `workspace/executeCommand` `ppodoctor.probe`;
its verdicts stay on the findings for as long as the text is the one it probed. It asks a warm
worker of the scripts' interpreter (probe/warm.py), kept for the server's life: the first probe
pays the imports (seconds), later ones a fraction of a second.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__, api
from . import actions
from .lint import Linted, lint
from .options import FileContext, ServerOptions, file_context, forget_environment, forget_pins, parse_options

PROBE_COMMAND = "ppodoctor.probe"
# Long enough that a burst of keystrokes gives one check, short enough not to be noticed.
DEBOUNCE_S = 0.1
_PYTHON_SUFFIXES = (".py", ".pyi")


class PPODoctorServer(LanguageServer):
    def __init__(self) -> None:
        # Full sync: PPO scripts are small, and a whole text each change leaves no room for a
        # line-splitting disagreement between the client's incremental edits and ours.
        super().__init__("ppodoctor", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.options = ServerOptions()
        self.root: Optional[Path] = None
        self.contexts: dict[str, FileContext] = {}
        self.linted: dict[str, Linted] = {}
        self.probed: dict[str, api.FileReport] = {}  # uri → the probe's report of the text it probed
        self.pending: dict[str, asyncio.Task] = {}
        self.probing: set[str] = set()
        self.probe_again: set[str] = set()  # saved while its probe ran: probe the new text after it
        self.told: set[str] = set()  # configuration problems already shown
        self.shut_down = False
        self.warming: Optional[concurrent.futures.Future] = None
        self.probe_pool: Any = None  # a probe.warm.WorkerPool, made by the first probe

    # --- what the client sees -----------------------------------------------------------------
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def say(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """A problem with the user's configuration: shown once, logged every time."""
        self.window_log_message(types.LogMessageParams(kind, message))
        if message not in self.told:
            self.told.add(message)
            self.window_show_message(types.ShowMessageParams(kind, f"ppodoctor: {message}"))

    def log(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(types.MessageType.Log, message))

    def apply_settings(self, payload: Any) -> None:
        self.options, problems = parse_options(payload, self.options)
        for problem in problems:
            self.say(problem)

    # --- checking -------------------------------------------------------------------------------
    def context(self, uri: str, fresh: bool = False) -> FileContext:
        if fresh or uri not in self.contexts:
            context = file_context(_path(uri), self.options, self.root)
            if context.problem:
                self.say(context.problem, types.MessageType.Error)
            self.contexts[uri] = context
        return self.contexts[uri]

    def check(self, uri: str, fresh_context: bool = False) -> Optional[Linted]:
        """Check the document as it is now and publish what was found."""
        document = self.workspace.text_documents.get(uri)
        if document is None or not _is_python(uri, document.language_id):
            return None
        if self.warming is not None:
            # Wait for the imports rather than race them: two threads importing the same modules
            # can trip the import system's deadlock detection.
            self.warming.exception()
            self.warming = None
        text = document.source
        probed = self.probed.get(uri)
        if probed is not None and (probed.source is None or probed.source.text != _body(text)):
            probed = None  # the text changed since the probe looked: its verdicts are about another text
        try:
            linted = lint(uri, document.version, text, _path(uri), self.context(uri, fresh_context), self.options,
                          self.encoding(), probed)
        except Exception:  # noqa: BLE001 - one broken check must not take the editor's server down
            self.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                           f"ppodoctor failed on {uri}:\n{traceback.format_exc()}"))
            return None
        self.linted[uri] = linted
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, linted.diagnostics(),
                                                                              document.version))
        return linted

    def current(self, uri: str) -> Optional[Linted]:
        """The check of the document's present text (checked now if a debounced check is pending)."""
        linted = self.linted.get(uri)
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return None
        if linted is None or linted.text != document.source or linted.version != document.version:
            self.cancel(uri)
            linted = self.check(uri)
        return linted

    def cancel(self, uri: str) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()

    def schedule(self, uri: str) -> None:
        self.cancel(uri)

        async def later() -> None:
            await asyncio.sleep(DEBOUNCE_S)
            self.pending.pop(uri, None)
            self.check(uri)

        self.pending[uri] = asyncio.ensure_future(later())

    def check_all(self, fresh_context: bool = True) -> None:
        for uri in list(self.workspace.text_documents):
            self.cancel(uri)
            self.check(uri, fresh_context)

    async def refresh_configuration(self) -> bool:
        """Ask the client for the `ppodoctor` section (the pull model), where it can answer;
        whether the settings changed."""
        capabilities = self.client_capabilities.workspace
        if capabilities is None or not capabilities.configuration:
            return False
        try:
            answer = await self.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section="ppodoctor")]))
        except Exception as error:  # noqa: BLE001 - a client that cannot answer keeps the settings it gave
            self.log(f"workspace/configuration failed: {error}")
            return False
        before = self.options
        if answer and isinstance(answer[0], dict):
            self.apply_settings(answer[0])
        return self.options != before

    async def probe(self, uri: str) -> dict:
        """The runtime probe on the document's present text, in a thread (the worker is a subprocess)."""
        linted = self.current(uri)
        if linted is None:
            return {"uri": uri, "error": "no open Python document with this URI"}
        if linted.report.error or linted.report.setup is None or not linted.report.setup.setups:
            return {"uri": uri, "probed": False, "reason": linted.report.error or "no PPOTrainer setup in the file"}
        if uri in self.probing:
            self.probe_again.add(uri)
            return {"uri": uri, "probed": False, "reason": "a probe of this document is already running; "
                                                           "its present text is probed next"}
        self.probing.add(uri)
        try:
            probed = await asyncio.to_thread(_run_probe, linted, self.root, self.pool())
        except Exception:  # noqa: BLE001 - the probe's own failures are verdicts; this is a bug of ours
            failure = f"ppodoctor probe failed on {uri}:\n{traceback.format_exc()}"
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, failure))
            return {"uri": uri, "probed": False, "reason": "the probe failed; see the server's log"}
        finally:
            self.probing.discard(uri)
        self.probed[uri] = probed
        self.cancel(uri)
        self.check(uri)  # with the verdicts, if the text is still the one probed
        if uri in self.probe_again:
            self.probe_again.discard(uri)
            document = self.workspace.text_documents.get(uri)
            if document is not None and (probed.source is None or probed.source.text != _body(document.source)):
                return await self.probe(uri)  # a save came while it ran: the verdicts were for the old text
        verdicts: dict[str, int] = {}
        for diagnostic in probed.diagnostics:
            status = str(getattr(diagnostic.probe, "value", diagnostic.probe))
            verdicts[status] = verdicts.get(status, 0) + 1
        result = getattr(probed, "probe", None)
        reason = getattr(result, "reason", "") if result is not None and not getattr(result, "ok", True) else ""
        return {"uri": uri, "probed": True, "verdicts": verdicts, "findings": len(probed.diagnostics),
                "reason": reason or None, "worker": {"pid": getattr(result, "worker_pid", 0),
                                                     "warm": getattr(result, "warm", False),
                                                     "seconds": round(getattr(result, "wall_s", 0.0), 3),
                                                     "started": self.probe_pool.started}}

    def pool(self) -> Any:
        """The server's warm probe workers (probe/warm.py), made on first use."""
        if self.probe_pool is None:
            # loaded on first use: a server that never probes does not pay for it
            from ..probe.warm import WorkerPool

            self.probe_pool = WorkerPool()
        return self.probe_pool

    def warm_probe(self, uri: str) -> None:
        """With probeOnSave: start the worker of the document's interpreter now, so that the first
        save finds it warm (its imports take seconds; starting it does not wait for them)."""
        if not self.options.probe_on_save or self.shut_down:
            return
        settings = self.context(uri).settings
        with self.pool().active():
            _prewarm(_probe_options(settings, self.root))

    def stop_probe(self) -> None:
        if self.probe_pool is not None:
            self.probe_pool.close()


def _warm_up() -> None:
    """Import what the first check needs (libcst, the rules: ~0.2 s) while the editor is still
    sending its first messages, instead of after its first didOpen."""
    import libcst  # noqa: F401

    # loaded on first use: the server answers `initialize` first
    from ..rules import all_rules
    from ..setup import extract  # noqa: F401

    all_rules()  # an error here shows again, and is reported, in the first check


def _probe_options(settings: Any, root: Optional[Path]) -> Any:
    # loaded on first use: the server answers `initialize` first
    from ..probe.runner import ProbeOptions

    return ProbeOptions(python=settings.python or sys.executable, cwd=str(root) if root else None)


def _prewarm(options: Any) -> None:
    # loaded on first use: the server answers `initialize` first
    from ..probe.runner import prewarm

    prewarm(options)


def _run_probe(linted: Linted, root: Optional[Path], pool: Any) -> api.FileReport:
    settings = linted.context.settings
    options = _probe_options(settings, root)
    with pool.active():  # the warm worker of this interpreter, started by the first probe
        report = api.probe_report(api.CheckReport((linted.report,)), options, settings)
    return report.files[0]


def _path(uri: str) -> Optional[Path]:
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path else None


def _body(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _is_python(uri: str, language_id: Optional[str]) -> bool:
    if uri.startswith("vscode-notebook-cell:"):
        return False  # a cell alone is not the script: notebooks need the notebookDocument/* sync
    return language_id == "python" or uri.endswith(_PYTHON_SUFFIXES)


def _uri_argument(arguments: Optional[list]) -> Optional[str]:
    first = arguments[0] if arguments else None
    if isinstance(first, dict):
        first = first.get("uri")
    return first if isinstance(first, str) else None


def build() -> PPODoctorServer:
    server = PPODoctorServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: PPODoctorServer, params: types.InitializeParams) -> None:
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        ls.root = _path(root) if root else (Path(params.root_path) if params.root_path else None)
        ls.apply_settings(params.initialization_options)
        ls.warming = ls.thread_pool.submit(_warm_up)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: PPODoctorServer, params: types.InitializedParams) -> None:
        if await ls.refresh_configuration():
            ls.check_all()  # documents opened before the answer came were checked with the old settings

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PPODoctorServer, params: types.DidOpenTextDocumentParams) -> None:
        linted = ls.check(params.text_document.uri, fresh_context=True)
        if linted is not None and linted.report.setup is not None and linted.report.setup.setups:
            ls.warm_probe(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PPODoctorServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: PPODoctorServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.cancel(uri)
        forget_pins()  # a save is when requirement pins may have changed too
        ls.check(uri, fresh_context=True)
        if ls.options.probe_on_save:
            await ls.probe(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PPODoctorServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.cancel(uri)
        for table in (ls.linted, ls.contexts, ls.probed):
            table.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: PPODoctorServer, params: types.DidChangeConfigurationParams) -> None:
        # The push model (Neovim, Helix): our section in the notification. Some clients send every
        # tool's settings there, so a payload without a `ppodoctor` table is left to the pull.
        if isinstance(params.settings, dict) and isinstance(params.settings.get("ppodoctor"), dict):
            ls.apply_settings(params.settings)
        await ls.refresh_configuration()
        forget_environment()
        ls.probed.clear()  # verdicts were for the old interpreter and target
        ls.check_all()

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=list(actions.KINDS), resolve_provider=False))
    def code_action(ls: PPODoctorServer, params: types.CodeActionParams) -> Optional[list[types.CodeAction]]:
        linted = ls.current(params.text_document.uri)
        if linted is None:
            return None
        workspace_edit = ls.client_capabilities.workspace.workspace_edit \
            if ls.client_capabilities.workspace is not None else None
        versioned = bool(workspace_edit and workspace_edit.document_changes)
        return actions.code_actions(linted, params.range, params.context.only, ls.options, ls.encoding(),
                                    versioned)

    @server.command(PROBE_COMMAND)
    async def probe_command(ls: PPODoctorServer, *arguments: Any) -> Any:
        """Probe the document named by the argument (a URI or `{"uri": ...}`); with none (Helix's
        `:lsp-workspace-command` passes none), every open Python document, one after another."""
        uri = _uri_argument(list(arguments))
        if uri is not None:
            return await ls.probe(uri)
        if arguments:
            return {"error": f"{PROBE_COMMAND} takes a document URI"}
        return [await ls.probe(uri) for uri, document in list(ls.workspace.text_documents.items())
                if _is_python(uri, document.language_id)]

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: PPODoctorServer, *args: Any) -> None:
        ls.shut_down = True
        for uri in list(ls.pending):
            ls.cancel(uri)
        ls.stop_probe()

    return server


def serve() -> int:
    """Serve over stdio; the exit status LSP asks for: 0 after `shutdown`, 1 when `exit` or the end
    of stdin came without it."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="ppodoctor server: %(message)s")
    server = build()
    try:
        server.start_io()
    finally:
        server.stop_probe()  # its warm workers leave with it (they would at the end of their stdin anyway)
    return 0 if server.shut_down else 1
