"""``python -m augmix`` (also what ``torchrun -m augmix train`` runs)."""

import sys

from augmix.cli import main

sys.exit(main())
