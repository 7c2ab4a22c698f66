using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// The whole engine (scheduler, KV cache manager, model runner) against transformers: 64 requests of different
/// lengths and max_tokens, shuffled, with a 32-token step budget (prefills are chunked) and a KV cache so small
/// that requests are preempted and recomputed.
/// </summary>
public class LLMFixtureTests
{
    public static IEnumerable<object[]> Variants() => ModelFixture.Names();

    static EngineArgs Args(string variant, int blocks, int budget) => new()
    {
        Model = ModelFixture.Dir(variant),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = 128,
        AllowLongMaxModelLen = true,
        MaxNumBatchedTokens = budget,
        MaxNumSeqs = 64,
        NumGpuBlocksOverride = blocks,
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void SixtyFourShuffledRequestsUnderPressureMatchTransformers(string variant)
    {
        var expected = ModelFixture.Expected(variant);
        var rnd = new Random(variant.GetHashCode(StringComparison.Ordinal) & 0xffff);
        var jobs = Enumerable.Range(0, 64).Select(i => (Prompt: expected[i % expected.Count], MaxTokens: 1 + (i * 7) % 16)).OrderBy(_ => rnd.Next()).ToList();
        using var llm = new LLM(Args(variant, blocks: 12, budget: 32));
        var outputs = llm.Generate(
            jobs.Select(j => PromptInput.FromIds(j.Prompt.PromptTokenIds)).ToList(),
            jobs.Select(j => new SamplingParams { Temperature = 0, MaxTokens = j.MaxTokens, IgnoreEos = true, Logprobs = 5 }).ToList());
        Assert.Equal(64, outputs.Count);
        for (int i = 0; i < jobs.Count; i++)
        {
            var o = outputs[i].Outputs.Single();
            Assert.Equal(jobs[i].MaxTokens, o.TokenIds.Count);
            Assert.Equal("length", o.FinishReason);
            var exp = jobs[i].Prompt;
            var truncated = exp with
            {
                TokenIds = exp.TokenIds.Take(jobs[i].MaxTokens).ToArray(),
                Logprobs = exp.Logprobs.Take(jobs[i].MaxTokens).ToArray(),
                TopLogprobs = exp.TopLogprobs.Take(jobs[i].MaxTokens).ToArray(),
            };
            GreedyComparison.AssertMatches(truncated, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"{variant} job {i}");
        }
        var stats = llm.Core.Scheduler.MakeStats();
        // A model of state-space layers only holds one state slot per request and no blocks: nothing to run out of.
        if (llm.SchedulerConfig.HasAttention) Assert.True(stats.NumPreemptionsTotal > 0, "the small KV cache should have forced preemptions");
        Assert.Equal(0, stats.NumRunningReqs + stats.NumWaitingReqs);
    }

    [Fact]
    public void SharedPrefixIsComputedOnceAndGivesIdenticalOutput()
    {
        var exp = ModelFixture.Expected("llama")[3]; // 40-token prompt
        using var llm = new LLM(Args("llama", blocks: 64, budget: 512));
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 8, IgnoreEos = true };
        var first = llm.Generate([PromptInput.FromIds(exp.PromptTokenIds)], sp)[0];
        var second = llm.Generate([PromptInput.FromIds(exp.PromptTokenIds)], sp)[0];
        Assert.Equal(first.Outputs[0].TokenIds, second.Outputs[0].TokenIds);
        Assert.Equal(exp.TokenIds.Take(8), first.Outputs[0].TokenIds);
        Assert.Equal(0, first.NumCachedTokens);
        Assert.Equal(32, second.NumCachedTokens); // two full 16-token blocks of the 40-token prompt
    }
}
