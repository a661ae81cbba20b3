"""Deliver stage: write issues to files (and, later, mail and archive them)."""
