using Akka.Actor;
using Akka.Configuration;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Stages;

/// <summary>
/// The engine-core actor around the loop, with a real GPU worker actor over the llama fixture whose steps crash at random:
/// every crash drops the steps in flight (two with async scheduling) and recomputes the running requests, and each
/// request still streams exactly what the offline engine gives it.
/// </summary>
public sealed class EngineCoreActorTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(Dispatchers.Hocon))
{
    sealed class NoSink : IOutputSink
    {
        public void Write(RequestOutput output) { }
        public void Fail(Exception error) { }
    }

    static EngineArgs Args(bool async) => new()
    {
        Model = ModelFixture.Dir("llama"),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = 128,
        AllowLongMaxModelLen = true,
        MaxNumBatchedTokens = 32,
        MaxNumSeqs = 64,
        NumGpuBlocksOverride = 16,
        AsyncScheduling = async,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WorkerCrashesRecomputeTheRunningRequests_OutputsMatchTheOfflineEngine(bool async)
    {
        var prompts = ModelFixture.Expected("llama").Select(e => e.PromptTokenIds).ToList();
        var jobs = Enumerable.Range(0, 16).Select(i => (Prompt: prompts[i % prompts.Count], Params: new SamplingParams { Temperature = 0, MaxTokens = 2 + i % 9, IgnoreEos = true })).ToList();
        List<IReadOnlyList<int>> expected;
        using (var llm = new LLM(Args(async: false)))
            expected = llm.Generate(jobs.Select(j => PromptInput.FromIds(j.Prompt)).ToList(), jobs.Select(j => j.Params).ToList())
                .Select(o => o.Outputs[0].TokenIds).ToList();

        var args = Args(async);
        using var ctx = ModelContext.Load(args);
        var config = EngineBuilder.SchedulerConfigFor(ctx, args);
        var faults = new FaultInjector(0.15, seed: 3, "gpu");
        var detokenizer = CreateTestProbe();
        var core = Sys.ActorOf(EngineCoreActor.Props(0, config, () => new ModelRunner(ctx.Model, config.NumGpuBlocks, config.BlockSize, ctx.EosTokenIds),
            detokenizer.Ref, null, 1000, faults));
        for (int i = 0; i < jobs.Count; i++)
        {
            var command = new GenerateCommand($"c{i}", PromptInput.FromIds(jobs[i].Prompt), jobs[i].Params, new NoSink());
            core.Tell(new Admit(new Tokenized(command, new Request($"c{i}", jobs[i].Prompt, jobs[i].Params, ctx.EosTokenIds), null, null)));
        }

        var streamed = Enumerable.Range(0, jobs.Count).ToDictionary(i => $"c{i}", _ => new List<int>());
        var finished = new HashSet<string>();
        while (finished.Count < jobs.Count)
        {
            var message = detokenizer.ReceiveOne(TimeSpan.FromSeconds(60));
            Assert.NotNull(message);
            if (message is not EngineOutputs outputs) continue;
            foreach (var o in outputs.Outputs)
            {
                Assert.DoesNotContain(o.RequestId, finished);
                streamed[o.RequestId].AddRange(o.NewTokenIds);
                if (o.Finished) finished.Add(o.RequestId);
            }
        }
        Assert.True(faults.Injected > 0, "the worker should have crashed");
        for (int i = 0; i < jobs.Count; i++) Assert.Equal(expected[i], streamed[$"c{i}"]);
        var stats = await core.Ask<ReplicaStats>(new GetStats(), TimeSpan.FromSeconds(10));
        Assert.Equal(0, stats.Scheduler.NumRunningReqs + stats.Scheduler.NumWaitingReqs);
        Assert.Equal(0, stats.Scheduler.KvCacheUsage);
    }
}
