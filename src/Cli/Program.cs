using Skim.Cli;

return await SkimCli.InvokeAsync(args).ConfigureAwait(false);
