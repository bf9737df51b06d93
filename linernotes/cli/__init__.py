"""The ``linernotes`` command line (entry point :func:`linernotes.cli.main.main`).

One module per command group, each adding its commands to the one parser:

===================  ==================================================================
:mod:`.analyze`      ``analyze``, ``show``
:mod:`.listen`       ``listen``, ``endpoint-template``; the ``--listen`` options
:mod:`.edits`        ``edit``, ``history``, ``undo``
:mod:`.review`       ``review``
:mod:`.export`       ``export``, ``crops``
:mod:`.quality`      ``quality``, ``filter``
:mod:`.serve`        ``serve``: the review web service (:mod:`linernotes.service`)
:mod:`.chat`         ``chat``, ``mcp``: ask about tracks (:mod:`linernotes.chat`)
===================  ==================================================================

Shared flags are in :mod:`.options`, progress in :mod:`.progress`, text views in
:mod:`.display`.
"""

from linernotes.cli.main import main

__all__ = ["main"]
