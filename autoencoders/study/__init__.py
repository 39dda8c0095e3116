"""The study built on the library (its report, Findings, collapse rates, figures, theory, gradient probe
and the Keras blog comparison). It plugs into the library through entry points; the library never imports it."""
