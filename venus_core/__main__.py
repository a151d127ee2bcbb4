import os
import sys

from venus_core.cli import main

if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Under torchrun, after the process group has been ended: skip interpreter finalization,
        # where gloo's worker threads can still release tensors and abort the process
        # ("terminate called without an active exception") after a completed run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)
