using System.Diagnostics;
using Pipeline.Host.Cli;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using TorchSharp;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench latency`: load time, then the time of one batch through prefill and decode with random
/// prompt ids and ignore_eos, like `vllm bench latency`. Decode speed = (output_len - 1) tokens per sequence
/// over the time after the first token.
/// </summary>
public static class BenchLatencyCommand
{
    public static readonly CommandSpec Spec = new("bench-latency", "Time one batch end to end (like vllm bench latency); use --load-format dummy for big shapes.", ["[MODEL]"],
    [
        new("input-len", "prompt tokens per sequence", "32"),
        new("output-len", "generated tokens per sequence", "128"),
        new("batch-size", "sequences in the batch", "1"),
        new("num-iters-warmup", "untimed runs first", "1"),
        new("num-iters", "timed runs (the median is reported)", "3"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        int inputLen = args.Int("input-len"), outputLen = args.Int("output-len"), batch = args.Int("batch-size");
        if (inputLen < 1 || outputLen < 2 || batch < 1) throw new CliException("--input-len >= 1, --output-len >= 2 and --batch-size >= 1 are required");
        var engineArgs = CommonOptions.ToEngineArgs(args, model) with { EnablePrefixCaching = false };
        if (engineArgs.MaxModelLen == null) engineArgs = engineArgs with { MaxModelLen = inputLen + outputLen };
        using var llm = new LLM(engineArgs);
        var m = llm.Context.Model;
        Console.WriteLine($"model: {llm.Context.ModelDir} ({m.Config.Architecture}, {m.DType}, {m.Device}), load time {llm.Context.LoadTime.TotalSeconds:F2} s, {llm.SchedulerConfig.NumGpuBlocks} KV blocks");
        var rng = new Random(0);
        var prompts = Enumerable.Range(0, batch).Select(_ => PromptInput.FromIds(Enumerable.Range(0, inputLen).Select(_ => rng.Next(m.Config.VocabSize)).ToArray())).ToList();
        double Time(int tokens)
        {
            // Different prompts each run would be fairer to the prefix cache; it is disabled instead.
            var sp = new SamplingParams { Temperature = 0, MaxTokens = tokens, IgnoreEos = true };
            Sync(m.Device);
            var sw = Stopwatch.StartNew();
            llm.Generate(prompts, sp);
            Sync(m.Device);
            return sw.Elapsed.TotalSeconds;
        }
        for (int i = 0; i < args.Int("num-iters-warmup"); i++) { Time(1); Time(outputLen); }
        var firsts = new List<double>();
        var totals = new List<double>();
        for (int i = 0; i < args.Int("num-iters"); i++) { firsts.Add(Time(1)); totals.Add(Time(outputLen)); }
        double first = Median(firsts), total = Median(totals);
        double decode = Math.Max(1e-9, total - first);
        Console.WriteLine($"batch {batch}, input {inputLen}, output {outputLen}: end-to-end {total:F3} s (median of {totals.Count})");
        Console.WriteLine($"  prefill + first token: {first * 1000:F1} ms");
        Console.WriteLine($"  decode: {decode / (outputLen - 1) * 1000:F2} ms/step, {batch * (outputLen - 1) / decode:F1} tokens/s ({(outputLen - 1) / decode:F1} tokens/s per sequence)");
        RunnerReport.Print(llm.Runner);
        return 0;
    }

    static void Sync(torch.Device d)
    {
        if (d.type == DeviceType.CUDA) torch.cuda.synchronize(d);
    }

    static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
