"""Sample sources bundled for `digest demo`, served from a loopback HTTP server."""
