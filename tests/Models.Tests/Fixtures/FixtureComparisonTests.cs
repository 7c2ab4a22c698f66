using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using TorchSharp;

namespace Pipeline.Models.Tests.Fixtures;

/// <summary>Each tiny architecture variant against transformers' greedy continuation and top-5 logprobs.</summary>
public class FixtureComparisonTests
{
    static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };

    public static IEnumerable<object[]> Variants() => ModelFixture.Names();

    [Theory]
    [MemberData(nameof(Variants))]
    public void BatchedGreedyMatchesTransformers(string variant)
    {
        var expected = ModelFixture.Expected(variant);
        var (model, _) = ModelLoader.Load(ModelFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var results = new BatchGenerator(model, maxModelLen: 128).Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(), Greedy, []);
            for (int i = 0; i < expected.Count; i++)
                Check(expected[i], results[i], $"{variant} prompt {i} (len {expected[i].PromptTokenIds.Length})");
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void OneAtATimeEqualsBatched(string variant)
    {
        var expected = ModelFixture.Expected(variant);
        var (model, _) = ModelLoader.Load(ModelFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var gen = new BatchGenerator(model, maxModelLen: 128);
            var batched = gen.Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(), Greedy, []);
            for (int i = 0; i < expected.Count; i++)
            {
                var solo = gen.Generate([expected[i].PromptTokenIds], Greedy, [])[0];
                Assert.Equal(batched[i].TokenIds, solo.TokenIds);
                for (int t = 0; t < solo.TokenIds.Count; t++)
                    Assert.Equal(batched[i].Logprobs[t]!.Logprob, solo.Logprobs[t]!.Logprob, 1e-4);
            }
        }
    }

    internal static void Check(FixturePrompt expected, GenerationResult r, string label) =>
        GreedyComparison.AssertMatches(expected, r.TokenIds, r.Logprobs.Select(l => l?.Top).ToList(), r.Logprobs.Select(l => l!.Logprob).ToList(), 1e-3, label);
}
