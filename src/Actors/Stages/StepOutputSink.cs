using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A sink whose reader sees every step's state, however far behind it falls: it keeps the newest cumulative output and,
/// per write, only the lengths each sequence had then, and hands the reader one cumulative state per write. Deltas
/// taken between them are then cut at the same step boundaries on every run of the same tokens, which a rerun after a
/// crash needs (followers drop events by seq, so seq N must carry the same tokens in both runs). Memory per request
/// stays bounded by the output plus a few integers per step.
/// </summary>
public sealed class StepOutputSink : ReadableOutputSink
{
    readonly record struct Mark(int Index, int Tokens, int Chars, int Logprobs, string? FinishReason, object? StopReason);

    readonly Queue<(Mark[] Outputs, bool Finished)> _steps = new();
    RequestOutput? _newest;

    protected override void Keep(RequestOutput output)
    {
        _newest = output;
        _steps.Enqueue((output.Outputs.Select(c => new Mark(c.Index, c.TokenIds.Count, c.Text.Length, c.Logprobs?.Count ?? 0, c.FinishReason, c.StopReason)).ToArray(), output.Finished));
    }

    /// <summary>The cumulative output as of the oldest write not yet read.</summary>
    protected override bool TryTake(out RequestOutput output)
    {
        output = null!;
        if (!_steps.TryDequeue(out var step)) return false;
        output = _steps.Count == 0 ? _newest! : AsOf(_newest!, step.Outputs, step.Finished);
        return true;
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
