"""Per-deployment metrics: the listener's figures stored downsampled and served as series."""
