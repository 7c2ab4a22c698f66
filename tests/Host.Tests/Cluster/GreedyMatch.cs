using System.Text.Json;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>
/// Greedy outputs compared as the project compares with transformers (vLLM's rule): equal token by token, and where
/// floating-point differences flip a near-tie (a resumed request recomputes its tokens as a prefill; batches differ),
/// each side's token must be among the other side's top-5 logprobs; the comparison stops there.
/// </summary>
public sealed record GreedyRun(int[] Ids, Dictionary<int, float>[] Top)
{
    /// <summary>Completions logprobs (return_tokens_as_token_ids): tokens "token_id:N" and their top_logprobs.</summary>
    public static GreedyRun FromCompletionLogprobs(IEnumerable<JsonElement> logprobs)
    {
        var ids = new List<int>();
        var top = new List<Dictionary<int, float>>();
        foreach (var lp in logprobs)
        {
            ids.AddRange(lp.GetProperty("tokens").EnumerateArray().Select(t => Id(t.GetString()!)));
            top.AddRange(lp.GetProperty("top_logprobs").EnumerateArray().Select(d => d.EnumerateObject().ToDictionary(p => Id(p.Name), p => p.Value.GetSingle())));
        }
        return new GreedyRun(ids.ToArray(), top.ToArray());
    }

    static int Id(string s) => int.Parse(s["token_id:".Length..]);

    /// <summary>Asserts <paramref name="actual"/> matches this reference under the rule; returns the first divergence (or -1).</summary>
    public int AssertMatches(int[] actual, Dictionary<int, float>[]? actualTop, string what)
    {
        Assert.True(actual.Length == Ids.Length, $"{what}: {actual.Length} tokens, expected {Ids.Length}");
        for (int i = 0; i < Ids.Length; i++)
        {
            if (actual[i] == Ids[i]) continue;
            Assert.True(Top[i].ContainsKey(actual[i]), $"{what}: token {i} is {actual[i]}, not in the reference's top-5 ({string.Join(",", Top[i].Keys)}; reference {Ids[i]})");
            if (actualTop != null) Assert.True(actualTop[i].ContainsKey(Ids[i]), $"{what}: reference token {i} ({Ids[i]}) not in the run's top-5 ({string.Join(",", actualTop[i].Keys)})");
            return i;
        }
        return -1;
    }

    public GreedyRun Prefix(int n) => new(Ids[..n], Top[..n]);
}
