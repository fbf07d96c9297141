"""``genba serve`` for benchmarks, with one work-around: ``python -m bench.genba_serve serve --workers N ...``.

``app.logs.configure()`` puts the ``sys.stderr`` object itself into the logging configuration that
``genba serve`` hands to ``uvicorn.run``. With ``--workers`` above 1, uvicorn pickles its configuration
for each spawned worker and fails with ``TypeError: cannot pickle '_io.TextIOWrapper' object``, so
``genba serve --workers 2`` does not start. Here the stream is given as ``"ext://sys.stderr"`` (which
``logging.config.dictConfig`` resolves in each worker to the same stream) and everything else is
``genba serve`` as shipped: the same command function, settings check, uvicorn arguments and log format.
When ``configure()`` already returns a picklable configuration the work-around changes nothing.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

from app import logs


def needs_workaround() -> bool:
    try:
        pickle.dumps(logs.configure())
    except TypeError:
        return True
    return False


def _picklable(*args: Any, **kwargs: Any) -> dict[str, Any]:
    config: dict[str, Any] = _shipped(*args, **kwargs)
    for handler in config.get("handlers", {}).values():
        if handler.get("stream") is sys.stderr:
            handler["stream"] = "ext://sys.stderr"
        elif handler.get("stream") is sys.stdout:
            handler["stream"] = "ext://sys.stdout"
    return config


_shipped = logs.configure

if __name__ == "__main__":
    logs.configure = _picklable  # read by ``serve`` at call time (``from app.logs import configure``)
    from app.cli import main

    sys.argv[0] = "genba"
    main()
