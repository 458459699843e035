"""`python -m notifier` (from the repository root, or /app in the image): runs the worker."""

import asyncio
import os
import sys

from .config import ConfigError, load_config
from .log import setup_logging
from .worker import run


def main() -> int:
    try:
        config = load_config()
    except ConfigError as error:
        print(f"notifier: invalid configuration: {error}", file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    return asyncio.run(run(config))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is closed by now, but the SDK's native threads may still be winding down, and
    # leaving through the interpreter's finalization can then abort (PyGILState_Release).
    os._exit(code)
