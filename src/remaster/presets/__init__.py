"""Presets: YAML files validated against a schema, with `extends:` inheritance and per-key overrides.

    description: what it is for
    extends: streaming          # optional: a built-in name or a path relative to this file
    output: {format: wav, bit_depth: 24, dither: true}
    chain:                      # stages in order; the key is the processor (or give `type:`)
      cleanup: {highpass_hz: 20}
      loudness: {target_lufs: -14, true_peak_db: -1.0}
      air: {type: eq, bands: [{type: high_shelf, freq_hz: 10000, gain_db: 1.5}]}
    order: [cleanup, air, loudness]   # optional: reorder inherited stages

A child's mappings merge into its parent's key by key; `stage: null` removes an inherited stage and
`enabled: false` switches one off. A preset is validated once, when it is loaded: each stage's parameters become
its processor's typed `Params`, which travel unchanged to the processor. `schema.py` holds the top-level keys and
builds the JSON Schema (`preset.schema.json`) that editors check presets against.
"""

from .loader import Preset, Stage, available, builtin_dir, combine, load, merge, parse_override
from .schema import OutputSpec, parameter_rows, preset_json_schema

__all__ = ["OutputSpec", "Preset", "Stage", "available", "builtin_dir", "combine", "load", "merge", "parameter_rows",
           "parse_override", "preset_json_schema"]
