"""``python -m newsarchive``: the same command as the ``newsarchive`` script."""

from newsarchive.cli import main

if __name__ == "__main__":
    main()
