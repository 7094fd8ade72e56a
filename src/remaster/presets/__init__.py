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
`enabled: false` switches one off.
"""

from .loader import Preset, available, builtin_dir, load, parse_override

__all__ = ["Preset", "available", "builtin_dir", "load", "parse_override"]
