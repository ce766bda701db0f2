from bench.bench import main

raise SystemExit(main())
