"""``python -m bench`` runs :func:`bench.run.main`."""

from bench.run import main

raise SystemExit(main())
