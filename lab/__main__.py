"""python -m lab: the headless CLI."""
import sys

from lab.cli import main

sys.exit(main())
