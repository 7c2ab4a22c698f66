using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Host.Cli;
using Pipeline.Models.Sampling;
using Pipeline.Streams;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-pipeline`: what the actor/stream pipeline adds over calling the engine core directly, on the
/// same model and requests: wall time of a concurrent batch and latency of single requests, both ways.
/// </summary>
public static class BenchPipelineCommand
{
    public static readonly CommandSpec Spec = new("bench-pipeline", "Overhead of the actor/stream pipeline over the engine core (same model, same requests).", ["[MODEL]"],
    [
        new("num-prompts", "requests in the concurrent batch", "200"),
        new("input-len", "prompt tokens per request", "16"),
        new("output-len", "generated tokens per request", "32"),
        new("single-runs", "single requests timed one at a time", "20"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
    ]);

    public static async Task<int> RunAsync(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        int n = args.Int("num-prompts"), inputLen = args.Int("input-len"), outputLen = args.Int("output-len"), singles = args.Int("single-runs");
        var engineArgs = CommonOptions.ToEngineArgs(args, model) with { EnablePrefixCaching = false };
        if (engineArgs.MaxModelLen == null) engineArgs = engineArgs with { MaxModelLen = inputLen + outputLen };
        var ctx = ModelContext.Load(engineArgs);
        var rng = new Random(0);
        var prompts = Enumerable.Range(0, n).Select(_ => PromptInput.FromIds(Enumerable.Range(0, inputLen).Select(_ => rng.Next(ctx.Model.Config.VocabSize)).ToArray())).ToList();
        var sp = new SamplingParams { Temperature = 0, MaxTokens = outputLen, IgnoreEos = true };

        using var llm = new LLM(ctx, engineArgs);
        llm.Generate(prompts.Take(8).ToList(), sp);
        var sw = Stopwatch.StartNew();
        llm.Generate(prompts, sp);
        double directBatch = sw.Elapsed.TotalSeconds;
        var directSingle = Median(Enumerable.Range(0, singles).Select(i => { var t = Stopwatch.StartNew(); llm.Generate([prompts[i % n]], sp); return t.Elapsed.TotalMilliseconds; }));

        using var system = ActorSystem.Create("bench", ConfigurationFactory.ParseString(Dispatchers.Hocon));
        var engine = PipelineEngine.Start(system, [new ReplicaSpec(ctx, engineArgs)], new PipelineOptions { IngressCapacity = Math.Max(n, 1), MaxWaitingPerReplica = Math.Max(n, 1) });
        await Task.WhenAll(prompts.Take(8).Select(p => engine.GenerateFinalAsync(p, sp)));
        sw.Restart();
        await Task.WhenAll(prompts.Select(p => engine.GenerateFinalAsync(p, sp)));
        double pipelineBatch = sw.Elapsed.TotalSeconds;
        var pipelineSingle = new List<double>();
        for (int i = 0; i < singles; i++)
        {
            var t = Stopwatch.StartNew();
            await engine.GenerateFinalAsync(prompts[i % n], sp);
            pipelineSingle.Add(t.Elapsed.TotalMilliseconds);
        }
        await engine.ShutdownAsync(TimeSpan.FromSeconds(5));
        await system.Terminate();

        long tokens = (long)n * outputLen;
        Console.WriteLine($"model {ctx.ModelDir} ({ctx.Model.DType}, {ctx.Model.Device}); {n} requests x ({inputLen} in, {outputLen} out), greedy, prefix caching off");
        Console.WriteLine($"concurrent batch: engine core {directBatch:F3} s, pipeline {pipelineBatch:F3} s -> +{(pipelineBatch - directBatch) / n * 1000:F3} ms per request, +{(pipelineBatch - directBatch) / tokens * 1e6:F1} us per token");
        Console.WriteLine($"single request (median of {singles}): engine core {directSingle:F2} ms, pipeline {Median(pipelineSingle):F2} ms -> +{Median(pipelineSingle) - directSingle:F2} ms per request, +{(Median(pipelineSingle) - directSingle) / outputLen * 1000:F1} us per token");
        ctx.Dispose();
        return 0;
    }

    static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
