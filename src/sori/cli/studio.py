"""`sori studio`: tune a preset by ear in the browser (the `studio` extra: gradio and plotly)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from .common import PresetOpt

EXTRA = "sori studio needs the studio extra: pip install 'sori[studio]'"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port(host: str, port: int) -> int:
    from remaster.errors import SoriError

    if port == 0:
        return free_port(host)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)      # as the server does: a port in TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError as e:
            raise SoriError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror or e}); choose another port, "
                            "or --port 0 for a free one") from None
    return port


def _takes(source: Path | None) -> list[Path]:
    from remaster import audio as audio_io
    from remaster.batch import visible_files
    from remaster.errors import SoriError

    if source is None:
        return []
    if source.is_file():
        return [source.resolve()]
    if not source.is_dir():
        raise SoriError(f"{source}: no such file or folder")
    takes = [p.resolve() for p in visible_files(source) if p.suffix.lower() in audio_io.READ_SUFFIXES]
    if not takes:
        raise SoriError(f"{source}: no audio files (wav, flac, ogg, mp3) in it")
    return takes


def studio_cmd(
    source: Annotated[Path | None, typer.Argument(help="a take, or a folder of takes (searched recursively)")] = None,
    preset: PresetOpt = "streaming",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to serve on (0: a free one)")] = 7860,
    host: Annotated[str, typer.Option("--host", help="address to serve on (127.0.0.1: this machine only)")]
    = "127.0.0.1",
    model: Annotated[str | None, typer.Option("--model", "-m", envvar="SORI_MODEL", help="a MusicGen model (hub id "
                                              "or folder) to generate takes with, from the page")] = None,
    device: Annotated[str, typer.Option("--device", help="device for --model: auto, cpu, cuda, cuda:N, mps")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="where generated takes and saved presets go")]
    = Path("sori-studio"),
    no_browser: Annotated[bool, typer.Option("--no-browser", help="do not open a browser tab")] = False,
) -> None:
    """Tune a preset by ear: pick a take and a preset, change parameters, hear the master A/B against the raw take
    (loudness-matched), see the report's plots, save the preset as YAML that extends the base.

    Example: sori studio takes/ --preset gugak-solo
    """
    from remaster import presets
    from remaster.errors import SoriError

    presets.load(preset)
    takes = _takes(source)
    chosen = _check_port(host, port)
    try:
        import gradio  # noqa: F401
        import plotly  # noqa: F401
    except ImportError:
        raise SoriError(EXTRA) from None
    from sori.studio.app import launch
    from sori.studio.studio import Studio

    studio = Studio(takes, preset, out.resolve(), model, device)
    typer.echo(f"sori studio: http://{host}:{chosen}/ ({len(takes)} take{'s' if len(takes) != 1 else ''}, "
               f"preset {preset}); Ctrl-C stops it", err=True)
    try:
        launch(studio, host, chosen, open_browser=not no_browser)
    finally:
        studio.close()


__all__ = ["studio_cmd"]
