import CLI

BenchCommand.main()
