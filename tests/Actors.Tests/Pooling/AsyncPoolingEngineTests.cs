using Akka.Configuration;
using Pipeline.Actors.Pooling;
using Pipeline.Actors.Stages;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;

using static Pipeline.Actors.Tests.Pooling.LlamaEmbedFixture;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>
/// Pooling served through the actor stages (pooling engine-core actor + GPU worker actor): batching by token budget,
/// cancellation, supervision of device faults, graceful shutdown. The real-model cases compare with transformers.
/// </summary>
public sealed class AsyncPoolingEngineTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(Dispatchers.Hocon))
{
    readonly IPoolingModel _model = LlamaEmbedFixture.LoadModel();
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    AsyncPoolingEngine Start(int maxLen = 0, int? budget = null, ScriptedPoolingExecutor.Script? script = null, FaultInjector? faults = null) =>
        AsyncPoolingEngine.Start(Sys, new PoolingRunner(_model), PoolingEngine.ConfigFor(maxLen > 0 ? maxLen : _model.MaxInputLength, budget),
            faults: faults, createExecutor: script?.Factory);

    async Task UntilStats(AsyncPoolingEngine engine, Func<PoolingStats, bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition(await engine.GetStatsAsync()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out; stats: {await engine.GetStatsAsync()}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task ConcurrentCallersAreBatchedIntoFewSteps()
    {
        await using var engine = Start();
        var inputs = Enumerable.Range(0, 24).Select(i => Expected[i % Expected.Count]).ToList();
        var results = await Task.WhenAll(inputs.Select(e => Task.Run(() => engine.EncodeAsync(Embed(e.Ids))))).WaitAsync(Wait);
        for (int i = 0; i < inputs.Count; i++) AssertClose(inputs[i].Embedding, results[i][0], $"caller {i}");
        var stats = await engine.GetStatsAsync();
        Assert.True(stats.Steps < inputs.Count, $"{stats.Steps} steps for {inputs.Count} requests");
    }

    [Fact]
    public async Task WaitingCallersShareStepsUpToTheTokenBudget()
    {
        var script = new ScriptedPoolingExecutor.Script { Hold = new SemaphoreSlim(0) };
        await using var engine = Start(maxLen: 8, budget: 8, script: script);
        var first = engine.EncodeAsync(Embed(1, 2, 3, 4));
        Assert.True(await script.Entered.WaitAsync(Wait));
        var rest = Enumerable.Range(0, 6).Select(_ => engine.EncodeAsync(Embed(5, 6, 7, 8))).ToList();
        await UntilStats(engine, s => s.Waiting == 6);
        script.Hold.Release(100);
        await Task.WhenAll(rest.Append(first)).WaitAsync(Wait);
        Assert.Equal([1, 2, 2, 2], script.BatchSizes);
        Assert.Equal(4L, (await engine.GetStatsAsync()).Steps);
    }

    [Fact]
    public async Task BadRequestsFailAloneWithTheirReason()
    {
        await using var engine = Start();
        var good = engine.EncodeAsync(Embed(Expected[0].Ids));
        var ex = await Assert.ThrowsAsync<PoolingException>(() => engine.EncodeAsync(Embed(1, 99999)));
        Assert.Contains("outside the vocabulary", ex.Message);
        ex = await Assert.ThrowsAsync<PoolingException>(() => engine.EncodeAsync(new PoolingItem(new PoolingInput([1, 2]), PoolingTask.Classify, PoolingParams.Default)));
        Assert.Contains("no classification head", ex.Message);
        AssertClose(Expected[0].Embedding, (await good.WaitAsync(Wait))[0], "the good request");
    }

    [Fact]
    public async Task ACancelledCallerIsAbortedBeforeItRuns()
    {
        var script = new ScriptedPoolingExecutor.Script { Hold = new SemaphoreSlim(0) };
        await using var engine = Start(script: script);
        var running = engine.EncodeAsync(Embed(1, 2, 3));
        Assert.True(await script.Entered.WaitAsync(Wait));
        using var cts = new CancellationTokenSource();
        var waiting = engine.EncodeAsync(Embed(4, 5), cts.Token);
        await UntilStats(engine, s => s.Waiting == 1);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await UntilStats(engine, s => s is { Waiting: 0, Requests: 1 });
        script.Hold.Release(100);
        Assert.Equal(3f, (await running.WaitAsync(Wait))[0][0]);
        Assert.Equal(1, script.Steps);
    }

    [Fact]
    public async Task AFailedStepFailsOnlyItsRequestsAndTheRestartedWorkerServesTheOthers()
    {
        var script = new ScriptedPoolingExecutor.Script { Hold = new SemaphoreSlim(0), ThrowOnStep = 1 };
        await using var engine = Start(script: script);
        var failing = engine.EncodeAsync(Embed(1, 2, 3));
        Assert.True(await script.Entered.WaitAsync(Wait));
        var others = new[] { engine.EncodeAsync(Embed(1, 2)), engine.EncodeAsync(Embed(1, 2, 3, 4)) };
        await UntilStats(engine, s => s.Waiting == 2);
        script.Hold.Release(100);

        var error = await Assert.ThrowsAsync<PipelineStageException>(() => failing.WaitAsync(Wait));
        Assert.Equal("gpu", error.Stage);
        Assert.Contains("device fault in step 1", error.Message);
        Assert.Equal([2f, 4f], (await Task.WhenAll(others).WaitAsync(Wait)).Select(r => r[0][0]));
        Assert.Equal(5f, (await engine.EncodeAsync(Embed(1, 2, 3, 4, 5)).WaitAsync(Wait))[0][0]);
        Assert.Equal((2, 1), (script.Created, script.Disposed));
        Assert.Equal(1L, (await engine.GetStatsAsync()).FailedSteps);
    }

    [Fact]
    public async Task WithAsyncScheduling_TheNextStepIsSentWhileOneRuns_AndAFailureFailsOnlyItsOwnStep()
    {
        var script = new ScriptedPoolingExecutor.Script { Hold = new SemaphoreSlim(0), ThrowOnStep = 1 };
        var config = PoolingEngine.ConfigFor(8, 8, asyncScheduling: true);
        await using var engine = AsyncPoolingEngine.Start(Sys, new PoolingRunner(_model), config, createExecutor: script.Factory);
        var failing = engine.EncodeAsync(Embed(1, 2, 3, 4));
        Assert.True(await script.Entered.WaitAsync(Wait));
        var others = new[] { engine.EncodeAsync(Embed(1, 2)), engine.EncodeAsync(Embed(1, 2, 3)) };
        // The second caller's step is sent while the first runs; the third waits, as two steps are in flight.
        await UntilStats(engine, s => s is { Running: 2, Waiting: 1 });
        script.Hold.Release(100);

        var error = await Assert.ThrowsAsync<PipelineStageException>(() => failing.WaitAsync(Wait));
        Assert.Contains("device fault in step 1", error.Message);
        Assert.Equal([2f, 3f], (await Task.WhenAll(others).WaitAsync(Wait)).Select(r => r[0][0]));
        Assert.Equal([1, 1, 1], script.BatchSizes);
        var stats = await engine.GetStatsAsync();
        Assert.Equal((2L, 1L, 0), (stats.Steps, stats.FailedSteps, stats.Requests));
    }

    [Fact]
    public async Task InjectedDeviceFaultsFailRequestsExplicitlyAndServiceContinues()
    {
        var faults = new FaultInjector(0.5, seed: 3, "gpu");
        await using var engine = Start(faults: faults);
        var inputs = Enumerable.Range(0, 40).Select(i => Expected[i % Expected.Count]).ToList();
        var outcomes = await Task.WhenAll(inputs.Select(async (e, i) =>
        {
            await Task.Delay(i % 8 * 5);
            try { return (Ok: true, Rows: await engine.EncodeAsync(Embed(e.Ids))); }
            catch (PipelineStageException ex) { Assert.Contains("injected fault in the gpu stage", ex.Message); return (Ok: false, Rows: Array.Empty<float[]>()); }
        })).WaitAsync(Wait);
        Assert.True(faults.Injected > 0);
        Assert.Contains(outcomes, o => !o.Ok);
        for (int i = 0; i < inputs.Count; i++)
            if (outcomes[i].Ok) AssertClose(inputs[i].Embedding, outcomes[i].Rows[0], $"caller {i}");

        faults.Enabled = false;
        AssertClose(Expected[1].Embedding, (await engine.EncodeAsync(Embed(Expected[1].Ids)).WaitAsync(Wait))[0], "after the faults");
        var stats = await engine.GetStatsAsync();
        Assert.Equal((0, 0, 0), (stats.Requests, stats.Running, stats.Waiting));
        Assert.Equal(faults.Injected, stats.FailedSteps);
    }

    [Fact]
    public async Task AWorkerThatAlwaysCrashes_FailsEachRequestExplicitly_WithStepsFurtherAndFurtherApart_ThenServesAgain()
    {
        var faults = new FaultInjector(1.0, seed: 1, "gpu");
        await using var engine = Start(faults: faults);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var failedAt = new List<long>();
        for (int i = 0; i < 6; i++)
        {
            var e = await Assert.ThrowsAsync<PipelineStageException>(() => engine.EncodeAsync(Embed(Expected[0].Ids)).WaitAsync(Wait));
            Assert.Equal("gpu", e.Stage);
            failedAt.Add(clock.ElapsedMilliseconds);
        }
        // The first retry goes out at once; after the k-th crash in a row (k >= 2) the next step waits 100 * 2^(k-2) ms.
        for (int k = 2; k < failedAt.Count; k++)
        {
            long gap = failedAt[k] - failedAt[k - 1], pause = 100L << (k - 2);
            Assert.True(gap >= pause - 15, $"crash {k + 1} came {gap} ms after crash {k}, before its {pause} ms pause: {string.Join(", ", failedAt)}");
        }

        faults.Enabled = false;
        AssertClose(Expected[0].Embedding, (await engine.EncodeAsync(Embed(Expected[0].Ids)).WaitAsync(Wait))[0], "after the crash loop");
        var stats = await engine.GetStatsAsync();
        Assert.Equal((6L, 0), (stats.FailedSteps, stats.Requests));
    }

    [Fact]
    public async Task ShutdownLetsRunningRequestsFinishAndRefusesNewOnes()
    {
        var script = new ScriptedPoolingExecutor.Script { Hold = new SemaphoreSlim(0) };
        var engine = Start(script: script);
        var running = engine.EncodeAsync(Embed(1, 2));
        Assert.True(await script.Entered.WaitAsync(Wait));
        var shutdown = engine.ShutdownAsync(Wait);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.EncodeAsync(Embed(1)));
        script.Hold.Release(100);
        Assert.Equal(2f, (await running.WaitAsync(Wait))[0][0]);
        await shutdown.WaitAsync(Wait);
        Assert.Equal(1, script.Disposed);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _model.Dispose();
    }
}
