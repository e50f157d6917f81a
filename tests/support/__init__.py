"""Test support shared across test packages: the fake news site and the CLI in a subprocess.

Imported as ``support`` (``tests/`` is on ``sys.path`` through pytest's rootdir-relative
collection), never through the repository root, which would shadow the installed package.
"""
