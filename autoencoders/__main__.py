"""`python -m autoencoders train ARGS` and `python -m autoencoders evaluate ARGS`: train.py and
evaluate.py for any install, with no checkout. A sweep starts its runs this way (`worker`: a warm
process that trains run after run, see `autoencoders.sweep.worker`), so it works on a non-editable
install and on a worker that has the package but not the repository. `python -m autoencoders diagnose MODEL --data DATA` diagnoses a saved autoencoder
(autoencoders.diagnose). `python -m autoencoders schema` writes the configs' JSON Schema and
the config reference page (autoencoders.config). Other commands come from the
`autoencoders.commands` entry points (`plugins.COMMANDS`): the study's `findings`, which renders
the Findings from a study's summary."""

import sys

from autoencoders import plugins
from autoencoders.cli import evaluate_main, train_main
from autoencoders.config import schema_main
from autoencoders.diagnose.command import diagnose_main
from autoencoders.sweep.worker import worker_main

COMMANDS = {"train": train_main, "evaluate": evaluate_main, "worker": worker_main, "schema": schema_main, "diagnose": diagnose_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] in plugins.names(plugins.COMMANDS):  # loaded on use: a sweep worker's start imports none of them
        return plugins.entries(plugins.COMMANDS)[argv[0]](argv[1:])
    names = [*COMMANDS, *plugins.names(plugins.COMMANDS)]
    print(f"usage: python -m autoencoders {{{','.join(names)}}} ARGS  (e.g. python -m autoencoders train --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
