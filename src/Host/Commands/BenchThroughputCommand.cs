using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Host.Cli;
using Pipeline.Models.Sampling;
using TorchSharp;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-throughput`: offline throughput like `vllm bench throughput` with a random dataset:
/// N prompts of random token ids, fixed input and output lengths, ignore_eos, all submitted at once.
/// </summary>
public static class BenchThroughputCommand
{
    public static readonly CommandSpec Spec = new("bench-throughput", "Offline throughput on random prompts (like vllm bench throughput --dataset-name random).", ["[MODEL]"],
    [
        new("num-prompts", "number of requests", "256"),
        new("input-len", "prompt tokens per request", "512"),
        new("output-len", "generated tokens per request", "256"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        int n = args.Int("num-prompts"), inputLen = args.Int("input-len"), outputLen = args.Int("output-len");
        var engineArgs = CommonOptions.ToEngineArgs(args, model);
        if (engineArgs.MaxModelLen == null) engineArgs = engineArgs with { MaxModelLen = inputLen + outputLen };
        using var llm = new LLM(engineArgs);
        var m = llm.Context.Model;
        Console.WriteLine($"model: {llm.Context.ModelDir} ({m.Config.Architecture}, {m.DType}, {m.Device}), load {llm.Context.LoadTime.TotalSeconds:F2} s, " +
                          $"{llm.SchedulerConfig.NumGpuBlocks} KV blocks, max_num_seqs {llm.SchedulerConfig.MaxNumSeqs}, max_num_batched_tokens {llm.SchedulerConfig.MaxNumBatchedTokens}");
        var rng = new Random(0);
        var prompts = Enumerable.Range(0, n).Select(_ => PromptInput.FromIds(Enumerable.Range(0, inputLen).Select(_ => rng.Next(m.Config.VocabSize)).ToArray())).ToList();
        var sp = new SamplingParams { Temperature = 0, MaxTokens = outputLen, IgnoreEos = true };
        // Warm-up on a few prompts so one-time costs stay out of the timing.
        llm.Generate(prompts.Take(Math.Min(4, n)).Select(p => PromptInput.FromIds(p.TokenIds!.Reverse().ToArray())).ToList(), sp with { MaxTokens = 4 });
        if (m.Device.type == DeviceType.CUDA) torch.cuda.synchronize(m.Device);
        var sw = Stopwatch.StartNew();
        var outputs = llm.Generate(prompts, sp);
        if (m.Device.type == DeviceType.CUDA) torch.cuda.synchronize(m.Device);
        double s = sw.Elapsed.TotalSeconds;
        long outTokens = outputs.Sum(o => (long)o.Outputs[0].TokenIds.Count);
        long total = outTokens + (long)n * inputLen;
        Console.WriteLine($"Throughput: {n / s:F2} requests/s, {total / s:F1} total tokens/s, {outTokens / s:F1} output tokens/s ({s:F2} s, {llm.Core.StepCount} steps, {llm.Core.Scheduler.NumPreemptionsTotal} preemptions)");
        RunnerReport.Print(llm.Runner);
        return 0;
    }
}
