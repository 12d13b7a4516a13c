"""`python -m chaos.cli`: the `spotchaos` command."""

from chaos.cli import main

main()
