namespace Pipeline.Host.Progress;

/// <summary>
/// Which view progress gets: PIPELINE_PROGRESS=bar|log|off, else auto: a service (`pipeline serve`) writes log lines
/// (for work over 2 s) to its log; a CLI command draws a bar when stderr is a terminal and stays quiet when it is not
/// (a pipe or a script reads its stderr for errors).
/// </summary>
public static class ProgressMode
{
    public const string EnvironmentVariable = "PIPELINE_PROGRESS";

    /// <param name="log">Where log lines go (the server's logger, or stderr for the CLI).</param>
    /// <param name="service">A server: its progress goes to its log.</param>
    public static IProgressView Create(Action<string> log, bool service)
    {
        var mode = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        return mode switch
        {
            "off" => new SilentProgressView(),
            "bar" => new TerminalProgressView(),
            "log" => new LogProgressView(log, quietFor: TimeSpan.Zero),
            _ when service => new LogProgressView(log, LogProgressView.DefaultQuiet),
            _ => Console.IsErrorRedirected ? new SilentProgressView() : new TerminalProgressView(),
        };
    }

    sealed class SilentProgressView : IProgressView
    {
        public T Run<T>(string label, Func<ProgressState> poll, Func<T> work) => work();
    }
}
