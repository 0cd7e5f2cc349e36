import CLI

EvalCommand.main()
