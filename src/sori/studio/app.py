"""The studio's page (gradio): a take, a preset, its controls, the A/B player and the report's plots.

Left: the take (from the folder given, an upload, or generated from categories when a model is given), the base
preset, and per stage an on/off switch and one control per parameter, made from the processor's own parameter
definitions (range, unit, description); a bad value gets the command line's one-line message under its control.
Right: what `report.html` shows for one take (remaster.view; the same script draws it), rendered again after every
change: only the stages from the first changed one run, and a pitch check whose input changed runs once the audio
is back. Below the controls: save the edit as YAML that `extends:` the base preset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from remaster.view import figures, page

from .controls import Control
from .studio import Outcome, Studio

CSS = """
.sori-error p { color: #d93025 !important; font-size: 12px !important; margin: 0 0 6px !important; }
.sori-status p { color: #5f6368 !important; font-size: 12px !important; margin: 0 !important; }
#sori-view { min-height: 640px; }
"""


def head() -> str:
    """The report's script and style, and plotly.js inlined: the studio loads nothing from outside."""
    base = {"layout": figures.BASE_LAYOUT, "config": figures.CONFIG, "time": list(figures.TIME_FIGURES)}
    css = page.asset("report.css").split("/* ---- take ---- ")[-1].split("\n", 1)[-1]
    return (f"<style>{css}</style><script>{page.plotly_js()}</script>"
            f"<script>window.SORI_BASE = {json.dumps(base)};</script><script>{page.asset('report.js')}</script>")


def widget(gr: Any, c: Control) -> Any:
    common = {"label": c.label, "elem_id": c.id, "interactive": True}
    if c.kind == "switch":
        return gr.Checkbox(value=bool(c.value), info=c.info, **common)
    if c.kind == "choice":
        return gr.Dropdown(choices=[(str(x), x) for x in c.choices or ()], value=c.value, info=c.info, **common)
    if c.kind != "yaml":
        return gr.Textbox(value=c.widget_value(), lines=1, max_lines=1, info=c.info, **common)
    return gr.Textbox(value=c.widget_value(), lines=2, max_lines=8, info=c.info + " · YAML", **common)


def updates(gr: Any, out: Outcome, controls: list[Control]) -> list[Any]:
    """[view, status, the general error, one error line per control]."""
    if out.unchanged:
        return [gr.update() for _ in range(3 + len(controls))]
    return [out.view or gr.update(), out.status, gr.update(value=out.error, visible=bool(out.error)),
            *(gr.update(value=out.errors.get(c.id, ""), visible=c.id in out.errors) for c in controls)]


def triggers(c: Control, w: Any) -> list[Any]:
    """Numbers and text apply on Enter or when the field is left (not on every keystroke); the rest at once."""
    return [w.change] if c.kind in ("switch", "choice") else [w.submit, w.blur] if c.kind != "yaml" else [w.blur]


def build(studio: Studio) -> Any:
    import gradio as gr

    choices = studio.take_choices()
    with gr.Blocks(title="Sori studio", analytics_enabled=False) as demo:
        status = gr.Markdown("loading…", elem_classes=["sori-status"], elem_id="sori-status", render=False)
        view = gr.HTML("", elem_id="sori-view", render=False, js_on_load=None)
        general = gr.Markdown(visible=False, elem_classes=["sori-error"], elem_id="sori-general-error", render=False)
        # interactive said outright: the events that read them are made with the controls, after the page's config
        save_path = gr.Textbox(label="save as", value=str(studio.workdir / f"{Path(studio.preset).stem}-studio.yaml"),
                               elem_id="sori-save-path", render=False, interactive=True)
        description = gr.Textbox(label="description (optional)", elem_id="sori-save-description", render=False,
                                 interactive=True)
        save = gr.Button("save preset", elem_id="sori-save", variant="primary", render=False)
        saved = gr.Markdown(elem_id="sori-saved", render=False)
        saved_file = gr.File(label="download", visible=False, elem_id="sori-saved-file", render=False)
        gr.Markdown("### Sori studio\nPick a take and a preset, change what you hear (A/B against the raw take, "
                    "loudness-matched), save the preset as YAML.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=380):
                take = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="take",
                                   elem_id="sori-take", allow_custom_value=True)
                upload = gr.File(label="or open an audio file", file_types=["audio"], type="filepath",
                                 elem_id="sori-upload", height=90)
                _generate_panel(gr, studio, take)
                base = gr.Dropdown(choices=_preset_choices(studio.preset), value=studio.preset, allow_custom_value=True,
                                   label="preset: a built-in, or the path of a .yaml file", elem_id="sori-preset")
                general.render()

                @gr.render(inputs=[base])
                def _controls(base_name: str) -> None:
                    controls = _stage_controls(gr, studio, base_name)
                    if controls is None:
                        return
                    widgets, errors = controls
                    _wire(gr, studio, widgets, errors, take, base, view, status, general)
                    save.click(lambda path, desc, b, *values: _save(gr, studio, path, desc, b, values),
                               [save_path, description, base, *(w for _, w in widgets)], [saved, saved_file])

                with gr.Group():
                    save_path.render()
                    description.render()
                    save.render()
                    saved.render()
                    saved_file.render()
            with gr.Column(scale=7):
                status.render()
                view.render()
        first = [view, status, general]
        for event in (demo.load, base.change):
            event(lambda t, b: _first(gr, studio, t, b, False), [take, base], first, show_progress="hidden").then(
                lambda t, b: _first(gr, studio, t, b, True), [take, base], first, show_progress="hidden")
        upload.upload(lambda f: _uploaded(gr, studio, f), [upload], [take])
    return demo


def _first(gr: Any, studio: Studio, take: str, base: str, complete: bool) -> list[Any]:
    """A render with the base preset as it is (at load, and when the base changes: the controls start from it)."""
    out = studio.render(take, base, None, complete=complete)
    if out.unchanged:
        return [gr.update(), gr.update(), gr.update()]
    return [out.view or gr.update(), out.status, gr.update(value=out.error, visible=bool(out.error))]


def _uploaded(gr: Any, studio: Studio, path: str | None) -> Any:
    if not path:
        return gr.update()
    value = studio.add_take(Path(path))
    return gr.update(choices=studio.take_choices(), value=value)


def _save(gr: Any, studio: Studio, path: str, desc: str, base: str, values: tuple[Any, ...]) -> list[Any]:
    message, written = studio.save(path, base, list(values), desc)
    return [message, gr.update(value=written, visible=bool(written))]


def _preset_choices(current: str) -> list[str]:
    from remaster import presets

    names = list(presets.available())
    return names if current in names else [current, *names]


def _stage_controls(gr: Any, studio: Studio, base_name: str) -> tuple[list, list] | None:
    """One accordion per stage and one for the output format, from the base preset's values."""
    from remaster.errors import SoriError

    try:
        controls = studio.controls(studio.base(base_name))
    except SoriError as e:                      # a bad preset path: the message where the controls would be
        gr.Markdown(f"sori: error: {e}", elem_classes=["sori-error"], elem_id="sori-preset-error")
        return None
    widgets, errors = [], []
    groups: dict[str, list[Control]] = {}
    for c in controls:
        groups.setdefault(c.group, []).append(c)
    for group, members in groups.items():
        with gr.Accordion(group, open=group == "loudness", elem_id=f"sori-stage-{group}"):
            for c in members:
                widgets.append((c, widget(gr, c)))
                errors.append(gr.Markdown(visible=False, elem_classes=["sori-error"], elem_id=f"{c.id}-error"))
    return widgets, errors


def _wire(gr: Any, studio: Studio, widgets: list, errors: list, take: Any, base: Any, view: Any, status: Any,
          general: Any) -> None:
    controls = [c for c, _ in widgets]

    def edit(take_path: str, base_value: str, *values: Any) -> list[Any]:
        return updates(gr, studio.render(take_path, base_value, list(values)), controls)

    def finish(take_path: str, base_value: str, *values: Any) -> list[Any]:
        return updates(gr, studio.render(take_path, base_value, list(values), complete=True), controls)

    inputs = [take, base, *(w for _, w in widgets)]
    outputs = [view, status, general, *errors]
    for c, w in widgets:
        for trigger in triggers(c, w):
            trigger(edit, inputs, outputs, trigger_mode="always_last", show_progress="hidden").then(
                finish, inputs, outputs, show_progress="hidden")
    take.change(edit, inputs, outputs, show_progress="hidden").then(finish, inputs, outputs, show_progress="hidden")


def _generate_panel(gr: Any, studio: Studio, take: Any) -> None:
    """Categories in Korean or English (the taxonomy's names), a duration and a seed; the take joins the list."""
    with gr.Accordion("generate a take", open=False, elem_id="sori-generate"):
        if not studio.model:
            gr.Markdown("Start the studio with `--model` (a hub id such as facebook/musicgen-small, or a folder) to "
                        "generate takes here from categories, in Korean or English.")
            return
        from generate.taxonomy import load_taxonomy
        from remaster.errors import SoriError

        tax = load_taxonomy()
        fields = {}
        for name, multi in (("instruments", True), ("genres", True), ("moods", True), ("tempos", False),
                            ("modes", False)):
            fields[name] = gr.Dropdown(choices=[e.label for e in tax.entries(name)], multiselect=multi,
                                       label=name, elem_id=f"sori-gen-{name}")
        words = gr.Textbox(label="or words, Korean or English (슬픈 가야금 산조 중모리)", elem_id="sori-gen-words")
        with gr.Row():
            duration = gr.Number(value=10, label="seconds", minimum=1, maximum=300, elem_id="sori-gen-seconds")
            seed = gr.Number(value=None, label="seed (empty: random)", precision=0, elem_id="sori-gen-seed")
        go = gr.Button("generate", elem_id="sori-gen-go")
        message = gr.Markdown(elem_id="sori-gen-message")

        def run(words_text: str, secs: float, seed_value: float | None, *picked: Any) -> list[Any]:
            categories = dict(zip(fields, picked, strict=True))
            try:
                path = studio.generate(words_text, _names(categories), float(secs or 10),
                                       None if seed_value is None else int(seed_value))
            except SoriError as e:            # GenerateError included: one line
                return [gr.update(), f"sori: error: {e}"]
            return [gr.update(choices=studio.take_choices(), value=str(path)), f"generated {path}"]

        go.click(run, [words, duration, seed, *fields.values()], [take, message])


def _names(categories: dict[str, Any]) -> dict[str, Any]:
    """Dropdown labels ('가야금 (gayageum)') as the names build_prompt takes; tempos and modes are one each."""
    out: dict[str, Any] = {}
    key = {"instruments": "instruments", "genres": "genres", "moods": "moods", "tempos": "tempo", "modes": "mode"}
    for field, value in categories.items():
        if not value:
            continue
        out[key[field]] = [_name_of(v) for v in value] if isinstance(value, list) else _name_of(value)
    return out


def _name_of(label: str) -> str:
    return label.split(" (")[0]


def launch(studio: Studio, host: str, port: int, open_browser: bool) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build(studio)
    allowed = sorted({str(p.parent) for p in studio.takes} | {str(studio.renders), str(studio.workdir)})
    demo.launch(server_name=host, server_port=port, inbrowser=open_browser, allowed_paths=allowed, head=head(),
                css=CSS, quiet=False, footer_links=[], show_error=True)
