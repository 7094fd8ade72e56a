"""Sori's generation package: the category taxonomy and prompts, MusicGen generation, re-generation, gugak fine-tuning.

Import the submodule you need (`generate.prompt`, ...): this package imports nothing heavy on its own.
"""
