using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// State-space and hybrid models through the whole engine against transformers: prefills chunked to a few tokens a
/// step (the state carried from chunk to chunk), and requests preempted and recomputed (the state dropped with the
/// slot and rebuilt from prompt + output so far), by a KV cache too small for the hybrids' attention layers, and for
/// every family by failed steps, after which the engine core recomputes every running request.
/// </summary>
public class StateSpaceEngineTests
{
    public static readonly string[] StateSpaceVariants = ["mamba", "falcon-mamba", "mamba2", "jamba", "bamba", "granitemoehybrid", "falcon-h1", "nemotron-h"];

    public static IEnumerable<object[]> Variants() => ModelFixture.Names().Where(n => StateSpaceVariants.Contains((string)n[0]));

    static EngineArgs Args(string variant, int blocks, int budget, int maxSeqs, int maxModelLen = 128) => new()
    {
        Model = ModelFixture.Dir(variant),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = maxModelLen,
        AllowLongMaxModelLen = true,
        MaxNumBatchedTokens = budget,
        MaxNumSeqs = maxSeqs,
        NumGpuBlocksOverride = blocks,
    };

    static (List<(FixturePrompt Prompt, int MaxTokens)> Jobs, List<SamplingParams> Params) Jobs(string variant, int count)
    {
        var expected = ModelFixture.Expected(variant);
        var jobs = Enumerable.Range(0, count).Select(i => (Prompt: expected[i % expected.Count], MaxTokens: 4 + (i * 5) % 13)).ToList();
        return (jobs, jobs.Select(j => new SamplingParams { Temperature = 0, MaxTokens = j.MaxTokens, IgnoreEos = true, Logprobs = 5 }).ToList());
    }

    static void AssertMatches((FixturePrompt Prompt, int MaxTokens) job, IReadOnlyList<int> tokens, IReadOnlyList<TokenLogprobs> logprobs, string label)
    {
        var exp = job.Prompt;
        var truncated = exp with
        {
            TokenIds = exp.TokenIds.Take(job.MaxTokens).ToArray(),
            Logprobs = exp.Logprobs.Take(job.MaxTokens).ToArray(),
            TopLogprobs = exp.TopLogprobs.Take(job.MaxTokens).ToArray(),
        };
        GreedyComparison.AssertMatches(truncated, tokens, logprobs.Select(l => l.Top).ToList(), logprobs.Select(l => l.Logprob).ToList(), 1e-3, label);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ChunkedPrefillAndMemoryPreemptionMatchTransformers(string variant) => UnderPressure(variant, async: false);

    /// <summary>The same with two steps in flight: a step planned before a preemption may still write its old slot.</summary>
    [Theory]
    [InlineData("mamba2")]
    [InlineData("jamba")]
    [InlineData("falcon-h1")]
    public void AsyncSchedulingUnderPressureMatchesTransformers(string variant) => UnderPressure(variant, async: true);

    static void UnderPressure(string variant, bool async)
    {
        var (jobs, sps) = Jobs(variant, 8);
        // 8 tokens a step: every longer prompt is prefilled in chunks. 4 blocks of 16 tokens (one max_model_len sequence):
        // the hybrids' attention layers run out and preempt; a model of state-space layers only holds no blocks.
        using var llm = new LLM(Args(variant, blocks: 4, budget: 8, maxSeqs: 4, maxModelLen: 64) with { AsyncScheduling = async });
        Assert.False(llm.SchedulerConfig.EnablePrefixCaching);
        Assert.Equal(4, llm.SchedulerConfig.NumStateSlots);
        var outputs = llm.Generate(jobs.Select(j => PromptInput.FromIds(j.Prompt.PromptTokenIds)).ToList(), sps);
        for (int i = 0; i < jobs.Count; i++)
        {
            var o = outputs[i].Outputs.Single();
            AssertMatches(jobs[i], o.TokenIds, o.Logprobs!, $"{variant} job {i}");
        }
        var stats = llm.Core.Scheduler.MakeStats();
        if (llm.SchedulerConfig.HasAttention) Assert.True(stats.NumPreemptionsTotal > 0, "the small KV cache should have forced preemptions");
        Assert.Equal(0, stats.NumRunningReqs + stats.NumWaitingReqs);
        Assert.Equal(4, llm.Core.Scheduler.KVCacheManager.MambaManager!.NumFreeSlots);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void RecomputeAfterFailedStepsMatchesTransformers(string variant)
    {
        var (jobs, sps) = Jobs(variant, 6);
        var args = Args(variant, blocks: 64, budget: 16, maxSeqs: 4);
        using var ctx = ModelContext.Load(args);
        var (_, runner, config) = EngineBuilder.Build(ctx, args);
        using (runner)
        {
            var core = new EngineCore(new Scheduler(config), EngineCorePolicy.Generation);
            for (int i = 0; i < jobs.Count; i++)
                core.Admit(new Request(i.ToString(), jobs[i].Prompt.PromptTokenIds, sps[i], eosTokenIds: []));
            var tokens = jobs.Select(_ => new List<int>()).ToArray();
            var logprobs = jobs.Select(_ => new List<TokenLogprobs>()).ToArray();
            int steps = 0, failures = 0;
            while (core.HasUnfinishedRequests || core.Scheduler.HasFinishedRequests)
            {
                var step = core.NextStep();
                if (step is null) break;
                var result = runner.Execute(step.Plan);
                // Every 7th step is lost after it ran: the runner's state for its requests is stale and must be rebuilt.
                if (++steps % 7 == 0 && step.Plan.NumScheduledTokens.Count > 0)
                {
                    failures++;
                    core.Fail(step.StepId, "test: step lost");
                    continue;
                }
                foreach (var o in core.Complete(step.StepId, result).Outputs)
                {
                    int r = int.Parse(o.RequestId);
                    tokens[r].AddRange(o.NewTokenIds);
                    if (o.NewLogprobs != null) logprobs[r].AddRange(o.NewLogprobs);
                }
            }
            Assert.True(failures > 0);
            Assert.True(core.Scheduler.NumPreemptionsTotal > 0);
            for (int i = 0; i < jobs.Count; i++) AssertMatches(jobs[i], tokens[i], logprobs[i], $"{variant} job {i}");
        }
    }
}
