from cnnbench.cli.main import main

raise SystemExit(main())
