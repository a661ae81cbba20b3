"""digest: follow research writing on the web and turn it into a good newsletter."""

__version__ = "0.1.0"
