using BudgetGrains.Cli;

return await Cli.RunAsync(args, Terminal.System());
