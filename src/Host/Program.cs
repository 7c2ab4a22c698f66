using Pipeline.Host;

return await CliApp.RunAsync(args);
