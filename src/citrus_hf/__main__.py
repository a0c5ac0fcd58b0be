"""`python -m citrus_hf ...`: the `citrus` command, as `python -m pip` is pip's (`python -m citrus_hf finetune ...`)."""

import sys

from .commands.main import main

if __name__ == "__main__":
    sys.exit(main())
