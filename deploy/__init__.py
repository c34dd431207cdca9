"""Deployment tooling run from an operator's machine or CI (not part of the image)."""
