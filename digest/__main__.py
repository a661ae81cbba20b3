"""`python -m digest` works like `digest`."""

from digest.cli import main

main()
