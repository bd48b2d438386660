"""Training: one trainer for both ALMA stages, its config, loss, merge and the bases' HF exports."""
