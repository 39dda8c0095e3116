"""`python -m autoencoders train ARGS` and `python -m autoencoders evaluate ARGS`: train.py and
evaluate.py for any install, with no checkout; `python -m autoencoders findings SUMMARY_JSON`
renders the Findings from a study's summary. A sweep starts its runs this way (`worker`: a warm
process that trains run after run, see `autoencoders.worker`), so it works on a non-editable
install and on a worker that has the package but not the repository."""

import sys

from autoencoders.cli import evaluate_main, train_main
from autoencoders.worker import worker_main


def findings_main(argv: list[str]) -> int:
    """Imported on use: the statistics it needs would slow every sweep worker's start."""
    from autoencoders.findings import findings_main as main

    return main(argv)


COMMANDS = {"train": train_main, "evaluate": evaluate_main, "worker": worker_main, "findings": findings_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m autoencoders {{{','.join(COMMANDS)}}} ARGS  (e.g. python -m autoencoders train --help)", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
