"""Training: one run into its run folder (loop), the run-folder contract, the device; the speed machinery in speed/."""
