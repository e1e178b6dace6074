"""`python -m spanbench`: the same as the `spanbench` console script."""

from spanbench.cli.app import app

if __name__ == "__main__":
    app()
