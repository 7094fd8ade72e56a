"""The `sori` command line, assembled here and only here: every command is a plain function in one of the
modules below, added to the app explicitly (no registration by import side effect).

    sori remaster | batch | analyze | check          mastering (cli/master.py)
    sori presets list | show | validate | schema     presets (cli/presets.py)
    sori studio                                      tune a preset by ear in the browser (cli/studio.py)
    sori generate | make | categories                MusicGen takes (cli/generate.py)
    sori data prepare | tokenize,  sori train        fine-tuning (cli/data.py)

Startup stays light (`sori --help` imports neither numpy nor torch): each command imports what it needs when it
runs. Errors are one line, `sori: error: ...` with exit status 2 (common.main).
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import data, generate, master, presets, studio
from .common import main as _main

HELP = "Sori: generate music, and master it to streaming grade."


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        typer.echo(f"sori {__version__}")
        raise typer.Exit()


def build() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=HELP)

    @app.callback()
    def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                    help="print Sori's version and exit")] = False) -> None:
        """Sori: generate music, and master it to streaming grade."""

    app.command("remaster")(master.remaster_cmd)
    app.command("batch")(master.batch_cmd)
    app.command("analyze")(master.analyze_cmd)
    app.command("check")(master.check_cmd)
    app.command("studio")(studio.studio_cmd)

    presets_app = typer.Typer(no_args_is_help=True, help="List, show, validate presets; print their schema.")
    presets_app.command("list")(presets.list_cmd)
    presets_app.command("show")(presets.show_cmd)
    presets_app.command("validate")(presets.validate_cmd)
    presets_app.command("schema")(presets.schema_cmd)
    app.add_typer(presets_app, name="presets")

    app.command("generate")(generate.generate_cmd)
    app.command("make")(generate.make_cmd)
    app.command("categories")(generate.categories_cmd)

    data_app = typer.Typer(no_args_is_help=True, help="Prepare a fine-tuning dataset and its token cache.")
    data_app.command("prepare")(data.prepare_cmd)
    data_app.command("tokenize")(data.tokenize_cmd)
    app.add_typer(data_app, name="data")
    app.command("train")(data.train_cmd)
    return app


def main(argv: list[str] | None = None) -> None:
    """The `sori` entry point."""
    _main(build(), argv)


__all__ = ["build", "main"]
