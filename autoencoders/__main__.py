"""`python -m autoencoders train ARGS` and `python -m autoencoders evaluate ARGS`: train.py and
evaluate.py for any install, with no checkout. A sweep starts its runs this way (`worker`: a warm
process that trains run after run, see `autoencoders.worker`), so it works on a non-editable
install and on a worker that has the package but not the repository."""

import sys

from autoencoders.cli import evaluate_main, train_main
from autoencoders.worker import worker_main

COMMANDS = {"train": train_main, "evaluate": evaluate_main, "worker": worker_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m autoencoders {{{','.join(COMMANDS)}}} ARGS  (e.g. python -m autoencoders train --help)", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
