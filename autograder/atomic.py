"""The one atomic write: a temporary file beside the target, flushed to disk, renamed into place.

A reader (a resumed ``grade-all``, Gradescope reading ``results.json``, an instructor's browser) sees
the old file or the new one, never half of one. The temporary file is named ``.<name>.<pid>.tmp``
(left out of a release; removed when the write fails).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; once the block has written it, it replaces ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, newlines kept as given) to ``path`` atomically; return ``path``."""
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
