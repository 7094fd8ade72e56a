"""`sori presets list | show | validate | schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import SetOpt, error, overrides


def list_cmd() -> None:
    """The built-in presets."""
    from remaster import presets

    for name in presets.available():
        typer.echo(f"{name:14s} {presets.load(name).description}")


def show_cmd(
    name: Annotated[str, typer.Argument(help="preset name or .yaml path")],
    set_: SetOpt = None,
    defaults: Annotated[bool, typer.Option("--defaults", help="also every parameter left at its default")] = False,
) -> None:
    """The preset as it will run: inheritance and overrides resolved.

    Example: sori presets show gugak-solo --defaults --set loudness.target_lufs=-15
    """
    import yaml

    from remaster import presets

    p = presets.load(name, overrides(set_))
    typer.echo(yaml.safe_dump(p.resolved(defaults=defaults), sort_keys=False, allow_unicode=True).rstrip())


def validate_cmd(files: Annotated[list[Path], typer.Argument(help="preset files")]) -> None:
    """Check preset files; prints the first problem of each, exits non-zero if any is invalid."""
    from remaster import presets
    from remaster.errors import SoriError

    bad = 0
    for f in files:
        try:
            p = presets.load(f)
            typer.echo(f"ok: {f} ({len(p.stages)} stages: {', '.join(s.label for s in p.stages)})")
        except SoriError as e:
            bad += 1
            error(str(e))
    if bad:
        raise typer.Exit(2)


def schema_cmd(
    processor: Annotated[str | None, typer.Argument(help="one processor (default: all of them)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the JSON Schema of preset files, for editors")] = False,
) -> None:
    """Every parameter of every processor: type, default, range, unit and what it does.

    Example: sori presets schema loudness
    """
    from remaster.presets import parameter_rows
    from remaster.presets.schema import schema_text
    from remaster.processors import REGISTRY, processor_class

    if as_json:
        if processor is not None:
            cls = processor_class(processor)
            typer.echo(json.dumps(cls.Params.model_json_schema(), indent=1, ensure_ascii=False))
        else:
            typer.echo(schema_text().rstrip())
        return
    kinds = [processor_class(processor).name] if processor else list(REGISTRY)
    for kind in kinds:
        doc = (REGISTRY[kind].__doc__ or "").strip().splitlines()
        typer.echo(f"{kind}{': ' + doc[0] if doc else ''}")
        for row in parameter_rows(kind):
            typer.echo("  " + _row_text(row))


def _row_text(row: dict) -> str:
    rng = ""
    if row["choices"]:
        rng = " | ".join(map(str, row["choices"]))
    elif row["min"] is not None or row["max"] is not None:
        rng = f"{'' if row['min'] is None else row['min']}..{'' if row['max'] is None else row['max']}"
    default = "(required)" if row["required"] else json.dumps(row["default"], ensure_ascii=False)
    unit = f" {row['unit']}" if row["unit"] and row["unit"] not in ("choice", "on/off") else ""
    return f"{row['name']:<22} {default}{unit}  [{rng or row['type']}]  {row['description']}"


__all__ = ["list_cmd", "schema_cmd", "show_cmd", "validate_cmd"]
