import CLI

TrainCommand.main()
