using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Streams.Tests;

public class PipelineEngineTests
{
    static readonly SamplingParams Greedy = new() { Temperature = 0, IgnoreEos = true };

    static List<(int[] Prompt, int MaxTokens)> Jobs(int n, int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (Enumerable.Range(0, rnd.Next(3, 30)).Select(_ => rnd.Next(3, 512)).ToArray(), rnd.Next(1, 12))).ToList();
    }

    /// <summary>What each job gives run alone through the plain engine (no actors, no streams).</summary>
    static List<int[]> Sequential(IReadOnlyList<(int[] Prompt, int MaxTokens)> jobs)
    {
        using var llm = new LLM(PipelineHarness.Args("llama"));
        return jobs.Select(j => llm.Generate([PromptInput.FromIds(j.Prompt)], Greedy with { MaxTokens = j.MaxTokens })[0].Outputs[0].TokenIds.ToArray()).ToList();
    }

    [Fact]
    public async Task FiveHundredConcurrentRequestsEachGetTheirSequentialOutputOnce()
    {
        var jobs = Jobs(500, 1);
        var expected = Sequential(jobs);
        await using var h = new PipelineHarness(options: new PipelineOptions { IngressCapacity = 64, MaxWaitingPerReplica = 32 });
        var finals = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var tasks = jobs.Select(async (j, i) =>
        {
            RequestOutput? last = null;
            await foreach (var o in h.Engine.GenerateAsync(PromptInput.FromIds(j.Prompt), Greedy with { MaxTokens = j.MaxTokens }, $"r{i}"))
            {
                last = o;
                if (o.Finished) finals.AddOrUpdate(o.RequestId, 1, (_, c) => c + 1);
            }
            return last!;
        }).ToList();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(3));
        for (int i = 0; i < jobs.Count; i++)
        {
            Assert.Equal($"r{i}", results[i].RequestId);
            Assert.Equal(expected[i], results[i].Outputs[0].TokenIds);
        }
        Assert.Equal(500, finals.Count);
        Assert.All(finals.Values, c => Assert.Equal(1, c));
        var stats = await h.Engine.GetStatsAsync();
        Assert.Equal(0, stats.Sum(s => s.Outstanding));
        Assert.Equal(0, stats.Sum(s => s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs));
    }

    [Fact]
    public async Task SlowSubscriberKeepsMemoryBounded()
    {
        await using var h = new PipelineHarness(options: new PipelineOptions { IngressCapacity = 8 });
        int received = 0;
        RequestOutput? last = null;
        await foreach (var o in h.Engine.GenerateAsync(PromptInput.FromIds([5, 6, 7]), Greedy with { MaxTokens = 100 }))
        {
            received++;
            last = o;
            await Task.Delay(30); // much slower than the engine produces tokens
        }
        // The sink keeps only the newest cumulative state: intermediate states were skipped, none queued up.
        Assert.True(received < 100, $"a slow reader should skip intermediate outputs, got {received}");
        Assert.Equal(100, last!.Outputs[0].TokenIds.Count);
        Assert.True(last.Finished);
        Assert.Equal(0, h.Engine.IngressBacklog);
    }

    [Fact]
    public async Task DeltaOutputsConcatenateToTheFinalOutput()
    {
        await using var h = new PipelineHarness();
        var tokens = new List<int>();
        string? finish = null;
        await foreach (var o in h.Engine.GenerateAsync(PromptInput.FromIds([9, 8, 7, 6]), Greedy with { MaxTokens = 20, OutputKind = RequestOutputKind.Delta }))
        {
            tokens.AddRange(o.Outputs.SelectMany(c => c.TokenIds));
            finish = o.Outputs.LastOrDefault()?.FinishReason ?? finish;
        }
        var final = await h.Engine.GenerateFinalAsync(PromptInput.FromIds([9, 8, 7, 6]), Greedy with { MaxTokens = 20 });
        Assert.Equal(final.Outputs[0].TokenIds, tokens);
        Assert.Equal("length", finish);
    }

    [Fact]
    public async Task CancelledRequestsReturnTheirKvBlocks()
    {
        await using var h = new PipelineHarness();
        using var cts = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            try
            {
                await foreach (var o in h.Engine.GenerateAsync(PromptInput.FromIds([1 + i, 2, 3, 4, 5]), Greedy with { MaxTokens = 120 }, ct: cts.Token)) { }
                return false;
            }
            catch (OperationCanceledException) { return true; }
        })).ToList();
        // Cancel as soon as the requests hold blocks.
        await WaitFor(async () => (await h.Engine.GetStatsAsync()).Sum(s => s.Scheduler.KvCacheUsage) > 0);
        cts.Cancel();
        var cancelled = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(true, cancelled);
        await WaitFor(async () => (await h.Engine.GetStatsAsync()).All(s => s.Scheduler.KvCacheUsage == 0 && s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs == 0));
        Assert.Equal(0, h.Engine.InFlight);
    }

    [Fact]
    public async Task TwoCpuReplicasBothServe()
    {
        await using var h = new PipelineHarness(replicas: 2);
        var jobs = Jobs(40, 2);
        var expected = Sequential(jobs);
        var results = await Task.WhenAll(jobs.Select((j, i) => h.Engine.GenerateFinalAsync(PromptInput.FromIds(j.Prompt), Greedy with { MaxTokens = j.MaxTokens }, $"dp{i}")));
        for (int i = 0; i < jobs.Count; i++) Assert.Equal(expected[i], results[i].Outputs[0].TokenIds);
        var stats = await h.Engine.GetStatsAsync();
        Assert.Equal(2, stats.Length);
        Assert.All(stats, s => Assert.True(s.Steps > 0, $"replica {s.Replica} did no work"));
    }

    [Fact]
    public async Task BadInputFailsThatRequestAloneWithAClearError()
    {
        await using var h = new PipelineHarness();
        var good = h.Engine.GenerateFinalAsync(PromptInput.FromIds([1, 2, 3]), Greedy with { MaxTokens = 5 });
        var bad = Assert.ThrowsAsync<SamplingParamsException>(() => h.Engine.GenerateFinalAsync(PromptInput.FromIds([1, 99999]), Greedy));
        var badParams = Assert.ThrowsAsync<SamplingParamsException>(() => h.Engine.GenerateFinalAsync(PromptInput.FromIds([1, 2]), Greedy with { TopP = 2f }));
        var noTokenizer = Assert.ThrowsAsync<SamplingParamsException>(() => h.Engine.GenerateFinalAsync(PromptInput.FromText("hello"), Greedy));
        Assert.Contains("out of vocabulary", (await bad).Message);
        Assert.Equal("top_p", (await badParams).Field);
        Assert.Contains("no tokenizer", (await noTokenizer).Message);
        Assert.Equal(5, (await good).Outputs[0].TokenIds.Count);
    }

    internal static async Task WaitFor(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached");
            await Task.Delay(50);
        }
    }
}
