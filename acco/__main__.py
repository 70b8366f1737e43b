"""`python -m acco ...`: the command-line interface (see acco.cli)."""

from acco.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
