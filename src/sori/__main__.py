"""`python -m sori`: the same as the `sori` command."""

from sori.cli import main

main()
