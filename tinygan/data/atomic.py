"""Write a file so that it is either complete under its final name or absent.

A download cut off by a lost connection, a full disk or Ctrl-C must not leave a half-written
file where the next run would find it. So the bytes go to a temporary file in the same
directory (the same filesystem, which makes the rename atomic), are flushed to disk with
``fsync``, and only then take the final name with ``os.replace``. On any error the temporary
file is removed and the final name is left as it was.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path):
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears only if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
