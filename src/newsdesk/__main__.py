"""`python -m newsdesk` is the `newsdesk` command."""

from .cli import main

main()
