"""The exit codes of every ``linernotes`` command, in one place.

======  ==================================================================================
``0``   all done
``1``   some tracks (or the inputs of the command) failed: each has a one-line reason, and
        a batch prints its summary; a batch stopped by a full disk also exits 1
``2``   usage error: bad arguments, or a place the command must write to that cannot be
        written (it stops before any work)
``3``   internal error: a bug; one line on stderr (``LINERNOTES_DEBUG=1`` shows the
        traceback)
``130`` interrupted (Ctrl-C): run the same command again to resume
``141`` the reader of the output went away (``| head``)
======  ==================================================================================
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a command's exit status says (see the module docstring)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    INTERNAL = 3
    INTERRUPTED = 130
    CLOSED_PIPE = 141
