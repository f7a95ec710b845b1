"""Critics: the sequential-advantage critic (ReAd) and the progress reward model."""
