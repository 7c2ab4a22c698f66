using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// Async scheduling with the real model runner over the tiny fixture models: greedy outputs are the same with it on as
/// with it off (and as transformers'), under a 32-token budget and a 12-block KV cache that forces preemption, with
/// max_tokens limits, stop tokens ending requests while their next step runs, and aborts while steps are in flight.
/// </summary>
public class AsyncSchedulingFixtureTests
{
    static EngineArgs Args(string variant, bool async, int blocks = 12) => new()
    {
        Model = ModelFixture.Dir(variant),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = 128,
        AllowLongMaxModelLen = true,
        MaxNumBatchedTokens = 32,
        MaxNumSeqs = 64,
        NumGpuBlocksOverride = blocks,
        AsyncScheduling = async,
    };

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3-qknorm")]
    public void UnderPressure_GreedyOutputsAreTheSameWithAsyncScheduling(string variant)
    {
        var expected = ModelFixture.Expected(variant);
        var jobs = Enumerable.Range(0, 32).Select(i =>
        {
            var exp = expected[i % expected.Count];
            // Every third request ends on a stop token that transformers generates mid-way.
            int[] stop = i % 3 == 0 && exp.TokenIds.Length > 3 ? [exp.TokenIds[2 + i % 2]] : [];
            return (Prompt: exp, Params: new SamplingParams { Temperature = 0, MaxTokens = 1 + (i * 7) % 16, IgnoreEos = true, StopTokenIds = stop, Logprobs = 5 });
        }).ToList();
        var prompts = jobs.Select(j => PromptInput.FromIds(j.Prompt.PromptTokenIds)).ToList();
        var sps = jobs.Select(j => j.Params).ToList();

        IReadOnlyList<Pipeline.Actors.Output.RequestOutput> Run(bool async, out SchedulerStats stats)
        {
            using var llm = new LLM(Args(variant, async));
            var outputs = llm.Generate(prompts, sps);
            stats = llm.Core.Scheduler.MakeStats();
            Assert.Equal(0, llm.Core.NumInFlight);
            Assert.Equal(0, llm.Core.Scheduler.KvCacheUsage);
            return outputs;
        }
        var sync = Run(async: false, out _);
        var async = Run(async: true, out var asyncStats);
        Assert.True(asyncStats.NumPreemptionsTotal > 0, "the small KV cache should have forced preemptions");
        Assert.Equal(0, asyncStats.NumRunningReqs + asyncStats.NumWaitingReqs);
        for (int i = 0; i < jobs.Count; i++)
        {
            var (s, a) = (sync[i].Outputs.Single(), async[i].Outputs.Single());
            Assert.Equal(s.TokenIds, a.TokenIds);
            Assert.Equal(s.FinishReason, a.FinishReason);
            // Batches differ, so float sums differ in the last bits.
            Assert.All(s.Logprobs!.Zip(a.Logprobs!), p => Assert.Equal(p.First.Logprob, p.Second.Logprob, 1e-4));
            var exp = jobs[i].Prompt;
            int n = a.TokenIds.Count;
            Assert.True(n <= jobs[i].Params.MaxTokens);
            if (a.FinishReason == "stop") Assert.Contains(a.TokenIds[^1], jobs[i].Params.StopTokenIds);
            else Assert.Equal(jobs[i].Params.MaxTokens, n);
            var truncated = exp with
            {
                TokenIds = exp.TokenIds.Take(n).ToArray(),
                Logprobs = exp.Logprobs.Take(n).ToArray(),
                TopLogprobs = exp.TopLogprobs.Take(n).ToArray(),
            };
            GreedyComparison.AssertMatches(truncated, a.TokenIds, a.Logprobs!.Select(l => l.Top).ToList(), a.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"{variant} job {i}");
        }
    }

    [Fact]
    public void AbortsWhileStepsAreInFlight_TheOthersAreUnchangedAndEveryBlockIsFreed()
    {
        var expected = ModelFixture.Expected("llama");
        Dictionary<string, List<int>> Run(bool async, IReadOnlyDictionary<int, string[]> abortAt)
        {
            using var llm = new LLM(Args("llama", async));
            var core = llm.Core;
            for (int i = 0; i < 16; i++)
                core.Admit(new Request($"x{i}", expected[i % expected.Count].PromptTokenIds, new SamplingParams { Temperature = 0, MaxTokens = 12, IgnoreEos = true }));
            var streamed = Enumerable.Range(0, 16).ToDictionary(i => $"x{i}", _ => new List<int>());
            var aborted = new HashSet<string>();
            for (int step = 0; core.HasUnfinishedRequests; step++)
            {
                foreach (var o in core.Step())
                {
                    Assert.DoesNotContain(o.RequestId, aborted);
                    streamed[o.RequestId].AddRange(o.NewTokenIds);
                }
                if (abortAt.TryGetValue(step, out var ids))
                {
                    core.Abort(ids);
                    aborted.UnionWith(ids);
                }
            }
            core.Drain();
            Assert.Equal(0, core.Scheduler.KvCacheUsage);
            Assert.Equal(12, core.Scheduler.KVCacheManager.NumFreeBlocks);
            // The runner dropped every request: a new one runs as on a fresh engine.
            var again = llm.Generate([PromptInput.FromIds(expected[0].PromptTokenIds)], new SamplingParams { Temperature = 0, MaxTokens = 12, IgnoreEos = true });
            Assert.Equal(streamed["x0"], again[0].Outputs[0].TokenIds); // x0 is never aborted
            return streamed;
        }
        var baseline = Run(async: false, new Dictionary<int, string[]>());
        var abortAt = new Dictionary<int, string[]> { [1] = ["x1", "x2"], [6] = ["x5", "x9"], [12] = ["x3", "x12", "x15"] };
        var run = Run(async: true, abortAt);
        foreach (var (id, full) in baseline)
        {
            Assert.Equal(12, full.Count);
            if (abortAt.Values.Any(ids => ids.Contains(id))) Assert.Equal(full.Take(run[id].Count), run[id]);
            else Assert.Equal(full, run[id]);
        }
    }
}
