using Pipeline.Models.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Sampling;

/// <summary>Each sampling control against a hand-computed expectation on known logits.</summary>
public class SamplerTests
{
    static Tensor Logits(params float[] v) => torch.tensor(v).unsqueeze(0);
    static float[] Processed(float[] logits, SamplingRow row) => LogitsProcessors.Apply(Logits(logits), [row])[0].data<float>().ToArray();
    static int Greedy(float[] logits, SamplingRow row) => new Sampler().Sample(Logits(logits), [row]).TokenIds[0];
    static readonly SamplingParams G = new() { Temperature = 0 };

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegative()
    {
        var row = new SamplingRow(G with { RepetitionPenalty = 2f }, null, PromptTokenIds: [0], OutputTokenIds: [1]);
        Assert.Equal([1.5f, -4f, 2f, 0.5f], Processed([3f, -2f, 2f, 0.5f], row));
        Assert.Equal(2, Greedy([3f, -2f, 2f, 0.5f], row));
    }

    [Fact]
    public void FrequencyAndPresencePenaltiesCountOutputTokensOnly()
    {
        var freq = new SamplingRow(G with { FrequencyPenalty = 0.1f }, null, PromptTokenIds: [1, 1, 1], OutputTokenIds: [0, 0]);
        var p = Processed([1.0f, 0.9f, 0.5f], freq);
        Assert.Equal(0.8f, p[0], 5);
        Assert.Equal(0.9f, p[1], 5);
        var pres = new SamplingRow(G with { PresencePenalty = 0.5f, FrequencyPenalty = 0.25f }, null, OutputTokenIds: [2, 2, 0]);
        var q = Processed([1.0f, 0.9f, 0.5f], pres);
        Assert.Equal(1.0f - 0.25f - 0.5f, q[0], 5);
        Assert.Equal(0.9f, q[1], 5);
        Assert.Equal(0.5f - 0.5f - 0.5f, q[2], 5);
    }

    [Fact]
    public void LogitBiasIsAddedAndClamped()
    {
        var row = new SamplingRow(G with { LogitBias = new Dictionary<int, float> { [2] = 5f, [0] = -1000f } }, null);
        Assert.Equal([-99f, 0.5f, 5.25f], Processed([1f, 0.5f, 0.25f], row));
        Assert.Equal(2, Greedy([1f, 0.5f, 0.25f], row));
    }

    [Fact]
    public void MinTokensHoldsBackStopIdsUntilReached()
    {
        float[] l = [5f, 1f, 3f, 2f];
        var sp = G with { MinTokens = 2 };
        Assert.Equal(2, Greedy(l, new SamplingRow(sp, null, OutputTokenIds: [1], MinTokensStopIds: [0])));
        Assert.Equal(3, Greedy(l, new SamplingRow(sp, null, OutputTokenIds: [1], MinTokensStopIds: [0, 2])));
        Assert.Equal(0, Greedy(l, new SamplingRow(sp, null, OutputTokenIds: [1, 1], MinTokensStopIds: [0])));
    }

    [Fact]
    public void AllowedTokenIdsMaskEverythingElse()
    {
        var row = new SamplingRow(G with { AllowedTokenIds = [1, 3] }, null);
        var p = Processed([5f, 1f, 3f, 2f], row);
        Assert.True(float.IsNegativeInfinity(p[0]) && float.IsNegativeInfinity(p[2]));
        Assert.Equal(3, Greedy([5f, 1f, 3f, 2f], row));
    }

    [Fact]
    public void BadWordsBanTheLastTokenAfterAMatchingPrefix()
    {
        int[][] bad = [[3, 0], [2]];
        Assert.Equal(1, Greedy([5f, 4f, 4.5f, 2f], new SamplingRow(G, null, OutputTokenIds: [1, 3], BadWordsTokenIds: bad)));
        Assert.Equal(0, Greedy([5f, 4f, 4.5f, 2f], new SamplingRow(G, null, OutputTokenIds: [3, 1], BadWordsTokenIds: bad)));
        Assert.Equal([0], LogitsProcessors.BannedByBadWords([[3, 0]], [7, 3]));
        Assert.Empty(LogitsProcessors.BannedByBadWords([[3, 0]], [3, 7]));
    }

    static Dictionary<int, int> Draw(SamplingParams sp, float[] probs, int n, long seed = 1)
    {
        var logits = probs.Select(p => MathF.Log(p)).ToArray();
        var counts = new Dictionary<int, int>();
        using var gen = new Generator((ulong)seed);
        var sampler = new Sampler();
        for (int i = 0; i < n; i++)
        {
            var id = sampler.Sample(Logits(logits), [new SamplingRow(sp, gen)]).TokenIds[0];
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        return counts;
    }

    [Fact]
    public void MinPDropsTokensBelowTheScaledMaximum()
    {
        var counts = Draw(new SamplingParams { Temperature = 1f, MinP = 0.2f }, [0.5f, 0.3f, 0.15f, 0.05f], 1500);
        Assert.False(counts.ContainsKey(3));
        Assert.True(counts.GetValueOrDefault(2) > 100); // 0.15 / 0.95 of draws ~ 237
    }

    [Fact]
    public void TopKAndTopPKeepTheRightSets()
    {
        Assert.Equal([0, 1], Draw(new SamplingParams { Temperature = 1f, TopK = 2 }, [0.5f, 0.3f, 0.15f, 0.05f], 600).Keys.Order());
        // Mass before each token: 0, .5, .8, .95: top_p 0.6 keeps the first two.
        Assert.Equal([0, 1], Draw(new SamplingParams { Temperature = 1f, TopP = 0.6f }, [0.5f, 0.3f, 0.15f, 0.05f], 600).Keys.Order());
        // top_p below the first token's mass keeps only it.
        Assert.Equal([0], Draw(new SamplingParams { Temperature = 1f, TopP = 0.1f }, [0.5f, 0.3f, 0.15f, 0.05f], 200).Keys);
    }

    [Fact]
    public void SampledFrequenciesFollowTheDistribution()
    {
        var counts = Draw(new SamplingParams { Temperature = 1f }, [0.6f, 0.3f, 0.1f], 4000);
        Assert.InRange(counts[0] / 4000.0, 0.56, 0.64);
        Assert.InRange(counts[1] / 4000.0, 0.26, 0.34);
    }

    [Fact]
    public void SeededRowsReproduceAcrossRunsAndBatchCompositions()
    {
        var rnd = new Random(3);
        var logits = Enumerable.Range(0, 50).Select(_ => (float)rnd.NextDouble() * 4).ToArray();
        var sp = new SamplingParams { Temperature = 1.0f, Seed = 42 };
        List<int> Run(int companions)
        {
            using var gen = new Generator(42);
            var result = new List<int>();
            var sampler = new Sampler();
            for (int step = 0; step < 20; step++)
            {
                var rows = new List<SamplingRow> { new(sp, gen) };
                for (int c = 0; c < companions; c++) rows.Add(new SamplingRow(new SamplingParams { Temperature = 0.7f }, null));
                var batch = torch.tensor(Enumerable.Repeat(logits, companions + 1).SelectMany(x => x).ToArray(), [companions + 1, 50]);
                result.Add(sampler.Sample(batch, rows).TokenIds[0]);
            }
            return result;
        }
        var alone = Run(0);
        Assert.Equal(alone, Run(0));
        Assert.Equal(alone, Run(3));
        Assert.True(alone.Distinct().Count() > 3);
    }

    [Fact]
    public void LogprobsAreRawWithRankAndSortedTopK()
    {
        var (ids, lps) = new Sampler().Sample(Logits(1f, 3f, 2f, 0f), [new SamplingRow(G with { Logprobs = 2, LogitBias = new Dictionary<int, float> { [3] = 10f } }, null)]);
        Assert.Equal(3, ids[0]);
        var lp = lps[0]!;
        var logZ = Math.Log(Math.Exp(1) + Math.Exp(3) + Math.Exp(2) + Math.Exp(0));
        Assert.Equal(0 - logZ, lp.Logprob, 4);
        Assert.Equal(4, lp.Rank);
        Assert.Equal([1, 2], lp.Top.Select(t => t.TokenId));
        Assert.Equal(3 - logZ, lp.Top[0].Logprob, 4);
    }
}
