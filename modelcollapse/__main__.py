"""``python -m modelcollapse`` is the ``modelcollapse`` command."""

from modelcollapse.cli import main

raise SystemExit(main())
