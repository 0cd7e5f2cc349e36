import CLI

PredictCommand.main()
