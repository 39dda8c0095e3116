"""Data: the dataset registry, loading with pinned hashes and caches, the user's own files, the natural patches."""
