using System.Text.Json;

namespace Pipeline.Models.Tests.Fixtures;

/// <summary>A tiny random model made by scripts/fixtures/make_model_fixtures.py and transformers' outputs for it.</summary>
public sealed record FixturePrompt(int[] PromptTokenIds, int[] TokenIds, double[] Logprobs, Dictionary<int, double>[] TopLogprobs);

public static class ModelFixture
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "models");

    public static IEnumerable<object[]> Names() =>
        Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(n => new object[] { n! });

    public static string Dir(string name) => Path.Combine(Root, name);

    public static List<FixturePrompt> Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "expected.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(p => new FixturePrompt(
            p.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            p.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            p.GetProperty("logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
            p.GetProperty("top_logprobs").EnumerateArray().Select(o => o.EnumerateObject().ToDictionary(k => int.Parse(k.Name), k => k.Value.GetDouble())).ToArray()
        )).ToList();
    }
}

/// <summary>
/// vLLM's comparison rule: while tokens agree, logprobs agree within a tolerance; at the first divergence
/// each side's token must be in the other side's top-k, and the comparison stops there.
/// </summary>
public static class GreedyComparison
{
    public static void AssertMatches(FixturePrompt expected, IReadOnlyList<int> actualTokens, IReadOnlyList<(int Id, float Lp)[]?> actualTop,
        IReadOnlyList<float> actualChosenLp, double tolerance, string label)
    {
        Assert.Equal(expected.TokenIds.Length, actualTokens.Count);
        for (int i = 0; i < expected.TokenIds.Length; i++)
        {
            int e = expected.TokenIds[i], a = actualTokens[i];
            if (e == a)
            {
                Assert.True(Math.Abs(expected.Logprobs[i] - actualChosenLp[i]) <= tolerance,
                    $"{label} step {i}: token {a} logprob {actualChosenLp[i]} vs transformers {expected.Logprobs[i]}");
                foreach (var (id, lp) in actualTop[i]!)
                    if (expected.TopLogprobs[i].TryGetValue(id, out var elp))
                        Assert.True(Math.Abs(elp - lp) <= tolerance, $"{label} step {i}: top token {id} logprob {lp} vs transformers {elp}");
                continue;
            }
            Assert.True(expected.TopLogprobs[i].ContainsKey(a), $"{label} step {i}: diverged (ours {a}, transformers {e}) and ours is not in transformers' top-5");
            Assert.True(actualTop[i]!.Any(t => t.Id == e), $"{label} step {i}: diverged (ours {a}, transformers {e}) and theirs is not in our top-5");
            return;
        }
    }
}
