import CLI

PlotCommand.main()
