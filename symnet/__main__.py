"""``python -m symnet ...`` runs the ``symnet`` command."""
import sys

from .cli import main

sys.exit(main())
