"""The endpoints the data-plane listener calls (docs/interfaces.md)."""
