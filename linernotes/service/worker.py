"""A job's worker process: ``python -m linernotes.service.worker SPEC_JSON``.

Runs one job through :func:`linernotes.service.library_access.run_job` and prints a JSON
line per progress step (``done``, ``total``, ``message``), then the summary. Exit status:
0 done, 1 failed (the last line says why), 130 cancelled (SIGINT).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path


def _say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def listen_for_cancel() -> None:
    """Make SIGINT (the server's cancel) raise ``KeyboardInterrupt`` here, whatever this
    process inherited: a server started in the background of a shell script ignores SIGINT,
    and threads may block it, and both pass to the worker, whose cancel would then never
    arrive."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def main(argv: list[str]) -> int:
    listen_for_cancel()
    from linernotes.service.library_access import LibraryAccess
    from linernotes.service.library_access.jobs import run_job

    spec = json.loads(argv[0])
    access = LibraryAccess(
        Path(spec["root"]),
        records=Path(spec["records"]) if spec.get("records") else None,
        db=Path(spec["db"]) if spec.get("db") else None,
    )
    try:
        summary = run_job(
            access,
            spec["kind"],
            spec.get("params") or {},
            lambda done, total, message: _say(done=done, total=total, message=message),
        )
    except KeyboardInterrupt:
        _say(message="cancelled")
        return 130
    except Exception as exc:  # the job's failure is its result; the server carries on
        _say(message=f"failed: {type(exc).__name__}: {exc}")
        return 1
    _say(message=summary)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
