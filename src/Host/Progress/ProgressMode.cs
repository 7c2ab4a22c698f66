namespace Pipeline.Host.Progress;

/// <summary>
/// Which view progress gets: PIPELINE_PROGRESS=bar|log|off, else auto: a bar when stderr is a terminal, log lines when
/// it is not (a service, a pipe, a test).
/// </summary>
public static class ProgressMode
{
    public const string EnvironmentVariable = "PIPELINE_PROGRESS";

    /// <param name="log">Where log lines go (the server's logger, or stderr for the CLI).</param>
    public static IProgressView Create(Action<string> log)
    {
        var mode = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        return mode switch
        {
            "off" => new SilentProgressView(),
            "bar" => new TerminalProgressView(),
            "log" => new LogProgressView(log, quietFor: TimeSpan.Zero),
            _ => Console.IsErrorRedirected ? new LogProgressView(log, LogProgressView.DefaultQuiet) : new TerminalProgressView(),
        };
    }

    sealed class SilentProgressView : IProgressView
    {
        public T Run<T>(string label, Func<ProgressState> poll, Func<T> work) => work();
    }
}
