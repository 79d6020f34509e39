"""Deployment tooling: the local Lambda emulator, layer building and publishing."""
