"""``python -m bench``: every benchmark in one command (see bench/run.py)."""
import sys

from bench.run import main

sys.exit(main())
