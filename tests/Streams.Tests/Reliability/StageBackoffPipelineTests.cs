using System.Collections.Concurrent;
using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams.Tests.Reliability;

/// <summary>
/// A tokenizer pool whose every call crashes, in the served pipeline: every request ends with an error naming the
/// tokenizer stage after its retries, each attempt costing one restart (none lost in a pause), the routees' restarts
/// spaced out by their backoff; once the stage works again, requests are served. (Before, a request whose retries were
/// spent stopped the ingress stream, so every later request hung.)
/// </summary>
public class StageBackoffPipelineTests
{
    [Fact]
    public async Task ATokenizerThatAlwaysCrashes_FailsEveryRequestNamingIt_RestartsSpacedOut_ThenServesAgain()
    {
        var faults = new FaultInjector(1.0, seed: 1, "tokenizer");
        var backoff = new StageBackoffOptions(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), RandomFactor: 0);
        var options = new PipelineOptions { Faults = faults, StageBackoff = backoff };
        await using var h = new PipelineHarness(options: options);
        var clock = Stopwatch.StartNew();
        var restarts = new ConcurrentQueue<(string Actor, long AtMs, TimeSpan Pause)>();
        h.Engine.StageRestarts["tokenizer"].Restarted += (actor, pause) => restarts.Enqueue((actor, clock.ElapsedMilliseconds, pause));
        var greedy = new SamplingParams { Temperature = 0, IgnoreEos = true, MaxTokens = 3 };

        const int n = 12;
        var runs = Enumerable.Range(0, n).Select(i => h.Engine.GenerateFinalAsync(PromptInput.FromIds([5 + i, 6, 7]), greedy, $"t{i}")).ToList();
        foreach (var run in runs)
        {
            var error = await Assert.ThrowsAsync<PipelineStageException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("tokenizer", error.Stage);
            Assert.Contains("injected fault in the tokenizer stage", error.Message);
        }
        // Each request was asked 1 + StageRetries times, and each ask crashed a routee once.
        var log = restarts.ToList();
        Assert.Equal(n * (1 + options.StageRetries), log.Count);
        foreach (var routee in log.GroupBy(r => r.Actor))
        {
            var mine = routee.ToList();
            Assert.Equal(TimeSpan.Zero, mine[0].Pause);
            Assert.All(mine.Skip(1), r => Assert.True(r.Pause >= backoff.MinBackoff));
            for (int i = 1; i < mine.Count; i++)
                Assert.True(mine[i].AtMs - mine[i - 1].AtMs >= mine[i - 1].Pause.TotalMilliseconds - 15, $"{routee.Key}: restart {i} too soon");
        }
        Assert.Contains(log, r => r.Pause == backoff.MaxBackoff);

        faults.Enabled = false;
        var ok = await h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7]), greedy).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, ok.Outputs[0].TokenIds.Count);
        Console.WriteLine($"tokenizer always crashing: {n} requests failed explicitly, {log.Count} restarts over {log[^1].AtMs - log[0].AtMs} ms");
    }
}
