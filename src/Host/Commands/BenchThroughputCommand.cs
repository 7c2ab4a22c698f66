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
        new("num-loras", "with --enable-lora: write this many random adapters (every projection) and spread the requests over them round-robin", "0"),
        new("lora-rank", "rank of the random adapters of --num-loras", "16"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
        .. LoraCliOptions.Options,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        int n = args.Int("num-prompts"), inputLen = args.Int("input-len"), outputLen = args.Int("output-len");
        var engineArgs = LoraCliOptions.Apply(args, CommonOptions.ToEngineArgs(args, model));
        int numLoras = args.Int("num-loras");
        if (numLoras > 0 && !engineArgs.EnableLora) throw new CliException("--num-loras needs --enable-lora");
        if (engineArgs.MaxModelLen == null) engineArgs = engineArgs with { MaxModelLen = inputLen + outputLen };
        using var llm = new LLM(engineArgs);
        var m = llm.Context.Model;
        Console.WriteLine($"model: {llm.Context.ModelDir} ({m.Config.Architecture}, {m.DType}, {m.Device}), load {llm.Context.LoadTime.TotalSeconds:F2} s, " +
                          $"{llm.SchedulerConfig.NumGpuBlocks} KV blocks, max_num_seqs {llm.SchedulerConfig.MaxNumSeqs}, max_num_batched_tokens {llm.SchedulerConfig.MaxNumBatchedTokens}");
        var rng = new Random(0);
        var prompts = Enumerable.Range(0, n).Select(_ => PromptInput.FromIds(Enumerable.Range(0, inputLen).Select(_ => rng.Next(m.Config.VocabSize)).ToArray())).ToList();
        var sp = new SamplingParams { Temperature = 0, MaxTokens = outputLen, IgnoreEos = true };
        IReadOnlyList<Pipeline.Models.Lora.LoRARequest?>? loras = null;
        string? loraDir = null;
        if (numLoras > 0)
        {
            loraDir = Directory.CreateTempSubdirectory("bench-loras").FullName;
            var dirs = Pipeline.Models.Lora.RandomLoRAAdapters.Write(loraDir, llm.Context.Lora!.Targets, numLoras, args.Int("lora-rank"));
            var reqs = dirs.Select((d, i) => new Pipeline.Models.Lora.LoRARequest($"lora-{i}", i + 1, d)).ToList();
            loras = Enumerable.Range(0, n).Select(i => (Pipeline.Models.Lora.LoRARequest?)reqs[i % numLoras]).ToList();
            Console.WriteLine($"LoRA: {numLoras} random adapters of rank {args.Int("lora-rank")} over {llm.Context.Lora.Targets.Count} projections, max_loras {engineArgs.MaxLoras}");
        }
        // Warm-up on a few prompts so one-time costs stay out of the timing.
        int warm = Math.Min(4, n);
        llm.Generate(prompts.Take(warm).Select(p => PromptInput.FromIds(p.TokenIds!.Reverse().ToArray())).ToList(),
            Enumerable.Repeat(sp with { MaxTokens = 4 }, warm).ToList(), loraRequests: loras?.Take(warm).ToList());
        if (m.Device.type == DeviceType.CUDA) torch.cuda.synchronize(m.Device);
        var sw = Stopwatch.StartNew();
        var outputs = llm.Generate(prompts, Enumerable.Repeat(sp, n).ToList(), loraRequests: loras);
        if (m.Device.type == DeviceType.CUDA) torch.cuda.synchronize(m.Device);
        double s = sw.Elapsed.TotalSeconds;
        long outTokens = outputs.Sum(o => (long)o.Outputs[0].TokenIds.Count);
        long total = outTokens + (long)n * inputLen;
        Console.WriteLine($"Throughput: {n / s:F2} requests/s, {total / s:F1} total tokens/s, {outTokens / s:F1} output tokens/s ({s:F2} s, {llm.Core.StepCount} steps, {llm.Core.Scheduler.NumPreemptionsTotal} preemptions)");
        RunnerReport.Print(llm.Runner);
        if (llm.Context.Lora is { } lm) Console.WriteLine($"LoRA slot loads: {lm.SlotLoads}");
        if (loraDir != null) Directory.Delete(loraDir, true);
        return 0;
    }
}
