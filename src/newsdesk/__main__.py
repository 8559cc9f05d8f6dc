"""`python -m newsdesk` is the `newsdesk` command."""

from .cli import main

# Guarded: multiprocessing's spawn imports this module in its children.
if __name__ == "__main__":
    main()
