"""`python -m citrus_hf.commands <command> ...`: the `citrus` command without the console script (e.g. under
`accelerate launch -m citrus_hf.commands pretrain ...`)."""

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
