"""Fine-tuning MusicGen on gugak: the AI Hub 71470 reader (`data`), preparation into windows (`prepare`), the
token cache (`tokens`) and the trainer (`train`). `sori data prepare`, `sori data tokenize` and `sori train` run them.
"""
