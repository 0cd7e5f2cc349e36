import CLI

ExportCommand.main()
