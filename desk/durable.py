"""Files that survive a power cut: fsync of files and folders, atomic whole-file writes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush a file's content to the disk."""
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder, so a rename in it reaches the disk (else a power cut can undo it)."""
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals the rename.
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, create: bool = False) -> None:
    """Write a whole file so that readers see the old or the new content, never a mix.

    Temp file in the same folder (0600), fsync, then rename over the target, then fsync the
    folder. With `create`, the file must not exist yet: a concurrent writer cannot replace it.

    Raises:
        FileExistsError: `create` and the file exists.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if create:
            try:
                # A hard link fails if the target exists: create-if-absent in one step.
                path.hardlink_to(tmp)
            except FileExistsError:
                raise
            except OSError:
                # File systems without hard links: check, then rename.
                if path.exists():
                    raise FileExistsError(path.name) from None
                tmp.replace(path)
        else:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
