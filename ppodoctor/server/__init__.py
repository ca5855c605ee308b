"""`ppodoctor server`: the Language Server Protocol over stdio (pygls), for editors.

Only `ppodoctor server` imports this package's modules beyond this one: pygls and lsprotocol
(about 0.3 s of imports) are never paid by `check`. They come with `pip install 'ppodoctor[server]'`.
"""

from __future__ import annotations

import sys

MISSING = "ppodoctor server needs pygls (>= 2): pip install 'ppodoctor[server]'"


def serve() -> int:
    """Serve until the client says exit; 2 when pygls is not installed (said on stderr)."""
    try:
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        print(f"ppodoctor: error: {MISSING}", file=sys.stderr)
        return 2
    # loaded on first use: the server answers `initialize` first
    from .app import serve as run

    return run()
