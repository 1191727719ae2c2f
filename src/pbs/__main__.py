from pbs.cli import main

raise SystemExit(main())
