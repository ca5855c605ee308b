"""ppodoctor: a doctor for TRL PPOTrainer setups."""

__version__ = "0.1.0"
