"""The control plane as the listener sees it: its listener API over HTTP (register, desired
state, reports) and the Redis stream through which it says what changed."""
