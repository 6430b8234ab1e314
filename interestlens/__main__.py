"""``python -m interestlens`` runs the CLI."""

from interestlens.cli import app

app()
