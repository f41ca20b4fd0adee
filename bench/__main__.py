"""``python -m bench``: run the benchmarks and print one table."""

import sys

from bench._harness import main

sys.exit(main(sys.argv[1:]))
