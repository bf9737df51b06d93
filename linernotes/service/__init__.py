"""``linernotes serve``: a local web service and UI to listen to tracks, see their beat grid,
and fix and accept their annotations (FastAPI + uvicorn; the ``serve`` extra).

:func:`add_serve_parser` and :func:`cmd_serve` are the command's two hooks for
:mod:`linernotes.cli`; they import nothing heavy, so the rest of the CLI works without the
extra installed.
"""

from linernotes.service.command import add_serve_parser, cmd_serve

__all__ = ["add_serve_parser", "cmd_serve"]
