"""Deployment tooling: building the function and its layers, releases and their checks, the smoke check.

The local stand-ins for Lambda (the emulator, SAM local, the base image) live in `local/`.
"""
