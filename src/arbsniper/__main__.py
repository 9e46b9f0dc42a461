"""``python -m arbsniper``: the same command line as the ``arbsniper`` script."""

from arbsniper.cli import main

if __name__ == "__main__":
    main()
