"""Super-resolution to 48 kHz: restore the band a 32 kHz generator (or a low-rate file) never had.

Backends behind the `superres` processor:
- `bwe` (cutoff.py, bwe.py): built in, model-free bandwidth extension.
- `audiosr` (audiosr_client.py + audiosr_worker.py): AudioSR latent diffusion, in a worker process in its own
  environment (the worker is run by path, so no module here may be named `audiosr`).
- `none`: plain resampling.
"""
