"""Fine-tuning MusicGen on gugak: `sori data prepare`, `sori data tokenize` and `sori train` (commands in `cli`).

Reading a source: `source.read_source` picks the reader, `aihub` (AI Hub 71470) or `folder` (captioned audio); both
make `clips` (Clip, Locator, Problem), translate label codes through `codes` (codes.yaml) and write captions with
`captions`. Then `prepare` (windows, manifest, reports) and `tokens` (the token cache). Training: `train` (the loop)
with `config` (the YAML), `batches`, `model` (what is trained, the loss, the optimiser) and `checkpoint`.
"""
