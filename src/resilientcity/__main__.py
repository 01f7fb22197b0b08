"""``python -m resilientcity``: the same as the ``resilientcity`` command."""

from resilientcity.cli import main

if __name__ == "__main__":
    main()
