"""Compare runs: python evaluate.py RUN_DIR... --out REPORT_DIR"""

import sys

from autoencoders.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
