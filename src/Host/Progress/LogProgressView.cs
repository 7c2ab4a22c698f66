using System.Diagnostics;

namespace Pipeline.Host.Progress;

/// <summary>
/// Progress as log lines (a service, or stderr that is not a terminal): nothing for work that ends within
/// <c>quietFor</c>, then a line at each tenth of the way (or phase change, or 10 s without one), and one when done.
/// </summary>
public sealed class LogProgressView(Action<string> log, TimeSpan quietFor) : IProgressView
{
    public static readonly TimeSpan DefaultQuiet = TimeSpan.FromSeconds(2);
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200), Heartbeat = TimeSpan.FromSeconds(10);

    public T Run<T>(string label, Func<ProgressState> poll, Func<T> work)
    {
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        bool spoke = false;
        string? lastPhase = null;
        int lastTenth = -1;
        var lastLine = TimeSpan.Zero;
        void Report(ProgressState s)
        {
            if (clock.Elapsed < quietFor) return;
            int tenth = s.Fraction is double f ? (int)Math.Floor(f * 10) : -1;
            if (s.Phase == lastPhase && tenth == lastTenth && clock.Elapsed - lastLine < Heartbeat) return;
            log($"{label}: {s.Phase}{(s.Fraction is double p ? $" {p * 100:0}%" : "")}{(s.Detail.Length > 0 ? $" ({s.Detail})" : "")}, {clock.Elapsed.TotalSeconds:0.0} s");
            (spoke, lastPhase, lastTenth, lastLine) = (true, s.Phase, tenth, clock.Elapsed);
        }
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Report(poll());
                try { await Task.Delay(Poll, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        try { return work(); }
        finally
        {
            stop.Cancel();
            watcher.Wait();
            if (spoke || clock.Elapsed >= quietFor) log($"{label}: done in {clock.Elapsed.TotalSeconds:0.0} s");
        }
    }
}
