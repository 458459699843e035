"""`python -m notifier` (from the repository root, or /app in the image): runs the worker."""

import asyncio
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
    sys.exit(main())
