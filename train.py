"""Train one experiment: python train.py --config configs/blog/dense.yaml [--set key=value ...]"""

import sys

from autoencoders.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
