"""``python -m pyclaw.runtime`` is the ``pyclaw`` command."""

from pyclaw.runtime.cli import main

main()
