using Pipeline.Actors.Output;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams;

/// <summary>Turns the cumulative outputs the pipeline delivers into what the caller asked for (cumulative, delta, final only).</summary>
public static class OutputConversion
{
    public static RequestOutput? Convert(RequestOutput current, RequestOutput? previous, RequestOutputKind kind)
    {
        switch (kind)
        {
            case RequestOutputKind.FinalOnly:
                return current.Finished ? current : null;
            case RequestOutputKind.Delta:
                var outs = new List<CompletionOutput>();
                foreach (var c in current.Outputs)
                {
                    var p = previous?.Outputs.FirstOrDefault(x => x.Index == c.Index);
                    int tokens = p?.TokenIds.Count ?? 0, chars = p?.Text.Length ?? 0, lps = p?.Logprobs?.Count ?? 0;
                    bool finishedNow = c.Finished && p is not { Finished: true };
                    if (c.TokenIds.Count == tokens && c.Text.Length == chars && !finishedNow) continue;
                    outs.Add(c with
                    {
                        Text = c.Text[Math.Min(chars, c.Text.Length)..],
                        TokenIds = c.TokenIds.Skip(tokens).ToArray(),
                        Logprobs = c.Logprobs?.Skip(lps).ToArray(),
                    });
                }
                if (outs.Count == 0 && !current.Finished) return null;
                return current with { Outputs = outs, PromptLogprobs = previous == null ? current.PromptLogprobs : null };
            default:
                return current;
        }
    }
}
