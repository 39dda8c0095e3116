"""Diagnosis of anyone's autoencoder: the study's failures (a dark- or bright-locked output, one
output for every input, wrong-side saturation, a collapsed VAE code, inputs left in 0-255) found in
a model while it trains (`callback.DiagnosticsCallback`) or once it is saved
(`python -m autoencoders diagnose`, `command.py`). `measures.py` holds the one definition of each
measure, `problems.py` the registry of problems with their rules and words."""
