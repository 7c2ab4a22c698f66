using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Tests.Stages;

/// <summary>
/// Stage actors that keep crashing restart further and further apart (the first restart at once, then a pause
/// doubling to a cap), and every message they hold still ends: what arrives during a pause is handled after it, in order.
/// </summary>
public sealed class StageBackoffTests() : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString(Dispatchers.Hocon))
{
    sealed class RecordingSink : IOutputSink
    {
        public readonly ConcurrentQueue<(RequestOutput? Output, Exception? Error, long AtMs)> Events = new();
        readonly Stopwatch _clock;
        public RecordingSink(Stopwatch clock) => _clock = clock;
        public void Write(RequestOutput output) => Events.Enqueue((output, null, _clock.ElapsedMilliseconds));
        public void Fail(Exception error) => Events.Enqueue((null, error, _clock.ElapsedMilliseconds));
    }

    static RequestOutput Final(string id) =>
        new(id, null, [1], null, [new CompletionOutput(0, "x", [2], null, "stop", null)], Finished: true);

    [Fact]
    public void ThePauseIsZeroAfterTheFirstCrash_ThenDoublesToTheCap_AndAHandledMessageResetsIt()
    {
        var backoff = new RestartBackoff(new StageBackoffOptions(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), RandomFactor: 0));
        var pauses = Enumerable.Range(0, 6).Select(_ => backoff.OnCrash().TotalMilliseconds).ToList();
        Assert.Equal([0, 100, 200, 400, 500, 500], pauses);
        Assert.Equal(6, backoff.CrashesInARow);
        backoff.OnHandled();
        Assert.Equal(0, backoff.CrashesInARow);
        Assert.Equal(0, backoff.OnCrash().TotalMilliseconds);
        Assert.Equal(100, backoff.OnCrash().TotalMilliseconds);
        Assert.Equal(8, backoff.Restarts);

        var jittered = new RestartBackoff(new StageBackoffOptions(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), RandomFactor: 0.2));
        jittered.OnCrash();
        var pause = jittered.OnCrash().TotalMilliseconds;
        Assert.InRange(pause, 100, 120);
        Assert.Equal(TimeSpan.Zero, new RestartBackoff(StageBackoffOptions.Off).OnCrash());
        Assert.Equal(TimeSpan.Zero, new RestartBackoff(StageBackoffOptions.Off).OnCrash());
    }

    [Fact]
    public async Task ATokenizerThatAlwaysCrashes_RestartsFurtherAndFurtherApart_AndEveryAskEndsWithItsCrash()
    {
        var clock = Stopwatch.StartNew();
        var options = new StageBackoffOptions(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(400), RandomFactor: 0);
        var restarts = new StageRestarts("tokenizer", options);
        var log = new ConcurrentQueue<(long AtMs, TimeSpan Pause)>();
        restarts.Restarted += (_, pause) => log.Enqueue((clock.ElapsedMilliseconds, pause));
        var faults = new FaultInjector(1.0, seed: 1, "tokenizer");
        var tokenizer = Sys.ActorOf(TokenizerActor.Props(new InputProcessor(null, 100, 64, [0]), faults, restarts));

        // Two askers, as the ingress stream keeps several asks in flight: an ask that arrives during a pause waits it out.
        int asks = 0;
        async Task Asker(int who)
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(2.5))
            {
                var cmd = new GenerateCommand($"t{who}-{Interlocked.Increment(ref asks)}", PromptInput.FromIds([1, 2]), new SamplingParams(), new RecordingSink(clock));
                // Ask throws the stage's failure; an ask that got no answer would time out instead.
                var e = await Assert.ThrowsAnyAsync<Exception>(() => tokenizer.Ask<Tokenized>(cmd, TimeSpan.FromSeconds(5)));
                Assert.IsType<InjectedFaultException>(e);
            }
        }
        await Task.WhenAll(Asker(0), Asker(1));

        var restartLog = log.ToList();
        Assert.Equal(asks, restartLog.Count); // every ask crashed it once: none lost, none refused
        // 0, 50, 100, 200, 400, 400 ... ms: about 9 restarts fit in 2.5 s; immediate restarts would give hundreds.
        Assert.True(restartLog.Count is >= 5 and <= 12, $"{restartLog.Count} restarts: " + string.Join(", ", restartLog.Select(r => $"{r.AtMs}:{r.Pause.TotalMilliseconds}")));
        Assert.Equal(TimeSpan.Zero, restartLog[0].Pause);
        Assert.Equal([50.0, 100.0, 200.0, 400.0], restartLog.Skip(1).Take(4).Select(r => r.Pause.TotalMilliseconds));
        Assert.All(restartLog.Skip(5), r => Assert.Equal(400, r.Pause.TotalMilliseconds));
        // Each crash comes no sooner than the pause that followed the one before (the timer never fires early by more than a tick).
        for (int i = 1; i < restartLog.Count; i++)
            Assert.True(restartLog[i].AtMs - restartLog[i - 1].AtMs >= restartLog[i - 1].Pause.TotalMilliseconds - 15,
                $"restart {i} came {restartLog[i].AtMs - restartLog[i - 1].AtMs} ms after the one before, whose pause was {restartLog[i - 1].Pause.TotalMilliseconds} ms");

        // Once the stage stops crashing it serves again, and a handled message ends the run of crashes.
        faults.Enabled = false;
        var ok = await tokenizer.Ask<Tokenized>(new GenerateCommand("after", PromptInput.FromIds([1, 2]), new SamplingParams(), new RecordingSink(clock)), TimeSpan.FromSeconds(5));
        Assert.NotNull(ok.Request);
        Assert.Equal(0, restarts.For(tokenizer).CrashesInARow);
    }

    [Fact]
    public async Task AnOutputRouterThatCrashesTwice_HoldsTheNextMessagesThroughItsPause_AndLosesNone()
    {
        var clock = Stopwatch.StartNew();
        var options = new StageBackoffOptions(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(1), RandomFactor: 0);
        var restarts = new StageRestarts("output-router", options);
        var faults = new FaultInjector(1.0, seed: 1, "output-router");
        long pausedAt = -1;
        restarts.Restarted += (_, pause) =>
        {
            // the second crash in a row: stop injecting, so the router pauses and then handles what it held
            if (pause > TimeSpan.Zero) { faults.Enabled = false; pausedAt = clock.ElapsedMilliseconds; }
        };
        var router = Sys.ActorOf(OutputRouterActor.Props(faults, restarts));
        var sinks = Enumerable.Range(0, 6).Select(_ => new RecordingSink(clock)).ToList();
        for (int i = 0; i < sinks.Count; i++) router.Tell(new RegisterSink($"r{i}", sinks[i]));
        for (int i = 0; i < 4; i++) router.Tell(new Deliver(Final($"r{i}")));
        await Task.Delay(100);
        router.Tell(new Deliver(Final("r4")));
        router.Tell(new FailRequest("r5", new InvalidOperationException("engine error")));

        await AwaitConditionAsync(() => Task.FromResult(sinks.All(s => !s.Events.IsEmpty)), TimeSpan.FromSeconds(10));
        // The two messages that crashed it fail their requests, naming the stage.
        for (int i = 0; i < 2; i++)
        {
            var (output, error, _) = Assert.Single(sinks[i].Events);
            Assert.Null(output);
            Assert.Contains("failed in the output-router stage", error!.Message);
        }
        // The rest were held through the pause (none before it ended), then handled in the order sent.
        Assert.True(pausedAt >= 0);
        var handled = sinks.Skip(2).Select(s => Assert.Single(s.Events)).ToList();
        Assert.All(handled.Take(3), e => Assert.True(e.Output is { Finished: true }));
        Assert.Equal("engine error", handled[3].Error!.Message);
        Assert.All(handled, e => Assert.True(e.AtMs >= pausedAt + 300 - 15, $"handled at {e.AtMs} ms, the pause began at {pausedAt} ms"));
        Assert.Equal(handled.Select(e => e.AtMs).Order(), handled.Select(e => e.AtMs));
        Assert.Equal(2, restarts.Restarts);
        Assert.Equal(0, await router.Ask<int>(new GetStats(), TimeSpan.FromSeconds(5)));
    }
}
