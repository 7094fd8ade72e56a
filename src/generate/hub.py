"""Model ids and the Hugging Face hub, checked before anything loads: known MusicGen ids ("did you mean"), the local
cache first, and a quick look at whether the hub answers at all, so an offline machine gets its message at once.

    from generate.hub import check_model_id, cached, hub_answers
    check_model_id("facebook/musicgen-smal")    # GenerateError: ...; did you mean facebook/musicgen-small?
    cached("facebook/musicgen-small")           # the snapshot folder in the local cache, or None
    hub_answers()                               # False within HUB_TIMEOUT_S when the hub cannot be reached

Without this, `from_pretrained` on a machine with no network retries its downloads for about half a minute before
it gives up (huggingface_hub backs off on connection errors). The known ids and their licence are those of Meta's
MusicGen release on the hub (model cards of facebook/musicgen-*: weights under CC-BY-NC 4.0).
"""

from __future__ import annotations

import difflib
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from .errors import GenerateError

# The MusicGen checkpoints Meta published (https://huggingface.co/facebook), all under CC-BY-NC 4.0.
KNOWN_MODELS = tuple(f"facebook/musicgen-{n}" for n in (
    "small", "medium", "large", "melody", "melody-large", "stereo-small", "stereo-medium", "stereo-large",
    "stereo-melody", "stereo-melody-large"))
MUSICGEN_LICENSE = "CC-BY-NC-4.0"
HUB_TIMEOUT_S = 1.5
_DEFAULT_ENDPOINT = "https://huggingface.co"


def looks_like_path(name: str) -> bool:
    """A hub id is `name` or `org/name`; anything else (absolute, relative, deeper) is meant as a directory."""
    return os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name


def cache_dir() -> str:
    """The hub cache in force now (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    hub = os.environ.get("HF_HUB_CACHE")
    if hub:
        return hub
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.path.join(home, "hub")


def offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def cached(name: str) -> Path | None:
    """The snapshot of hub model `name` in the local cache (one that holds its config.json), or None.

    The cache layout is huggingface_hub's: models--ORG--NAME/refs/main names the snapshot of the default branch."""
    repo = Path(cache_dir()) / f"models--{name.replace('/', '--')}"
    ref = repo / "refs" / "main"
    try:
        snapshot = repo / "snapshots" / ref.read_text(encoding="utf-8").strip()
    except OSError:
        snapshots = sorted((repo / "snapshots").glob("*/config.json")) if (repo / "snapshots").is_dir() else []
        return snapshots[-1].parent if snapshots else None
    return snapshot if (snapshot / "config.json").is_file() else None


def check_model_id(name: str) -> None:
    """Refuse a hub id that is a misspelt MusicGen id (facebook/musicgen-smal), naming the closest known ones.

    Only ids that claim to be Meta's MusicGen (facebook/musicgen-*, or a bare musicgen-*) are checked: another
    org's fine-tune is anyone's name. A folder, or an id already in the local cache, is never refused here."""
    if looks_like_path(name) or Path(name).expanduser().exists() or cached(name) is not None:
        return
    lowered = name.strip().lower()
    claims = lowered.startswith("facebook/musicgen") or ("/" not in lowered and lowered.startswith("musicgen"))
    if not claims or name in KNOWN_MODELS:
        return
    close = difflib.get_close_matches(lowered if "/" in lowered else f"facebook/{lowered}", KNOWN_MODELS, n=2,
                                      cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(KNOWN_MODELS)}"
    raise GenerateError(f"unknown model '{name}'; {hint} (or pass a local folder)")


def _probe_target() -> tuple[str, int]:
    """Where a connection to the hub goes first: the HTTPS proxy when one is set, else the hub's endpoint."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy or os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT)
    default = 443 if url.scheme == "https" else 80
    return url.hostname or "huggingface.co", url.port or default


def hub_answers(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub (or the proxy) opens within `timeout` seconds.

    The connection runs in a daemon thread: name resolution (getaddrinfo) ignores socket timeouts and may hang for
    much longer on a machine whose resolver cannot be reached."""
    host, port = _probe_target()
    result: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True, name="sori-hub-probe")
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def license_of(name: str, folder: Path | None) -> str | None:
    """The licence of a model: its model card's `license:` (a folder saved from the hub keeps README.md), else
    MusicGen's for Meta's ids, else None (unknown)."""
    for card in ([folder / "README.md"] if folder is not None else []):
        try:
            head = card.read_text(encoding="utf-8")[:4000]
        except OSError:
            continue
        if head.startswith("---"):
            for line in head.split("---", 2)[1].splitlines():
                key, _, value = line.partition(":")
                if key.strip().lower() == "license" and value.strip():
                    return value.strip().strip("'\"").upper()
    if name in KNOWN_MODELS or name.lower().startswith("facebook/musicgen"):
        return MUSICGEN_LICENSE
    return None
