using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A sink whose reader sees every step's state, however far behind it falls: it keeps the newest cumulative output and,
/// per write, only the lengths each sequence had then, and hands the reader one cumulative state per write. Deltas
/// taken between them are then cut at the same step boundaries on every run of the same tokens, which a rerun after a
/// crash needs (followers drop events by seq, so seq N must carry the same tokens in both runs). Memory per request
/// stays bounded by the output plus a few integers per step.
/// </summary>
public sealed class StepOutputSink : IReadableOutputSink
{
    readonly record struct Mark(int Index, int Tokens, int Chars, int Logprobs, string? FinishReason, object? StopReason);

    readonly object _gate = new();
    readonly SemaphoreSlim _signal = new(0, 1);
    readonly Queue<(Mark[] Outputs, bool Finished)> _steps = new();
    RequestOutput? _newest;
    Exception? _error;
    bool _done;

    public void Write(RequestOutput output)
    {
        lock (_gate)
        {
            if (_done) return;
            _newest = output;
            _steps.Enqueue((output.Outputs.Select(c => new Mark(c.Index, c.TokenIds.Count, c.Text.Length, c.Logprobs?.Count ?? 0, c.FinishReason, c.StopReason)).ToArray(), output.Finished));
            if (output.Finished) _done = true;
        }
        try { _signal.Release(); } catch (SemaphoreFullException) { }
    }

    public void Fail(Exception error)
    {
        lock (_gate)
        {
            if (_done) return;
            _error = error;
            _done = true;
        }
        try { _signal.Release(); } catch (SemaphoreFullException) { }
    }

    /// <summary>The cumulative output as of the next write not yet read; null once the final one was read.</summary>
    public async Task<RequestOutput?> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_steps.TryDequeue(out var step))
                {
                    return _steps.Count == 0 ? _newest : AsOf(_newest!, step.Outputs, step.Finished);
                }
                if (_error != null) throw _error;
                if (_done) return null;
            }
            await _signal.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    static RequestOutput AsOf(RequestOutput newest, Mark[] marks, bool finished) => newest with
    {
        Finished = finished,
        Outputs = marks.Select(m =>
        {
            var c = newest.Outputs.First(x => x.Index == m.Index);
            return c with
            {
                Text = c.Text[..m.Chars],
                TokenIds = c.TokenIds.Take(m.Tokens).ToArray(),
                Logprobs = c.Logprobs?.Take(m.Logprobs).ToArray(),
                FinishReason = m.FinishReason,
                StopReason = m.StopReason,
            };
        }).ToArray(),
    };
}
