"""Compose stage: choose what goes in an issue, build its view model, render a theme."""
