using Spectre.Console;

namespace Pipeline.Host.Progress;

/// <summary>A progress bar on stderr (Spectre.Console), so stdout stays the command's output; cleared when done.</summary>
public sealed class TerminalProgressView : IProgressView
{
    public T Run<T>(string label, Func<ProgressState> poll, Func<T> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: 1.0);
                using var stop = new CancellationTokenSource();
                var watcher = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var s = poll();
                        task.Description = Markup.Escape($"{label}: {s.Phase}{(s.Detail.Length > 0 ? $" ({s.Detail})" : "")}");
                        task.IsIndeterminate = s.Fraction == null;
                        if (s.Fraction is double f) task.Value = f;
                        try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
                    }
                });
                try { return work(); }
                finally
                {
                    stop.Cancel();
                    watcher.Wait();
                    task.Value = 1.0;
                    task.StopTask();
                }
            });
    }
}
