"""Training: honest model comparison, calibration, operating points and the model artifact."""
