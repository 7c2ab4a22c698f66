using System.Diagnostics;
using Pipeline.Host.Cli;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-structured`: the cost of structured outputs over a real tokenizer's vocabulary. Reports the time to
/// decode the vocabulary and build its trie, to compile a JSON schema, and per decode step at a batch of constrained
/// sequences: the sampler alone on synthetic logits (the unconstrained step), then the same with each row's mask
/// filled on the host, applied on the device and the chosen token accepted. Sequences that finish start over, so every
/// row stays constrained; the first steps (cold masks) are reported apart from the rest.
/// </summary>
public static class BenchStructuredCommand
{
    public static readonly CommandSpec Spec = new("bench-structured", "Schema compile time and per-step masking cost beside unconstrained sampling.", ["TOKENIZER_DIR"],
    [
        new("batch", "sequences per step", "64"),
        new("steps", "timed decode steps", "200"),
        new("warmup", "steps counted as cold (first masks of each state)", "20"),
        new("device", "cpu or cuda", "cpu"),
        new("schema", "a JSON schema file (default: a person record with nested object, enum, bounded numbers, array, pattern, anyOf)", null),
    ]);

    const string DefaultSchema = """
    {"type":"object","properties":{
      "name":{"type":"string","minLength":1,"maxLength":20},
      "age":{"type":"integer","minimum":0,"maximum":130},
      "email":{"type":"string","pattern":"^[a-z0-9.]{1,16}@[a-z]{1,12}\\.(com|org|net)$"},
      "role":{"enum":["admin","user","guest"]},
      "score":{"type":"number","minimum":-10,"maximum":10},
      "tags":{"type":"array","items":{"type":"string","maxLength":12},"minItems":1,"maxItems":4},
      "address":{"type":"object","properties":{"street":{"type":"string","maxLength":30},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["zip"]},
      "manager":{"anyOf":[{"type":"null"},{"type":"string","maxLength":20}]}
     },"required":["name","age","role","tags","address"],"additionalProperties":false}
    """;

    public static int Run(ParsedArgs args)
    {
        var dir = args.Positionals.Count > 0 ? args.Positionals[0] : "tests/fixtures/tokenizers/qwen3";
        int batch = args.Int("batch"), steps = args.Int("steps"), warmup = args.Int("warmup");
        var device = args.Get("device") == "cuda" ? torch.CUDA : torch.CPU;
        var schema = args.Get("schema") is string f ? File.ReadAllText(f) : DefaultSchema;

        var sw = Stopwatch.StartNew();
        var tok = HfTokenizer.Load(dir);
        double loadMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        // Models pad vocab_size (Qwen3: 151936); a multiple of 128 stands for that here.
        var vocab = TokenizerVocabs.From(tok, tok.EosTokenId is int e ? [e] : [], (tok.VocabSize + 127) / 128 * 128);
        double vocabMs = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine($"tokenizer {Path.GetFileName(Path.GetFullPath(dir))}: {vocab.Size} tokens, {vocab.Trie.NumNodes} trie nodes; load {loadMs:F0} ms, token bytes + trie {vocabMs:F0} ms");

        var so = new StructuredOutputsParams { Json = schema };
        sw.Restart();
        var grammar = StructuredOutputCompiler.Compile(so);
        double compileMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var manager = new StructuredOutputManager(vocab);
        var compiled = manager.CompiledFor(so);
        double bindMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        compiled.MaskFor(compiled.Automaton.Start);
        double firstMaskMs = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine($"schema: compile {compileMs:F1} ms ({grammar.NumPositions} positions, {grammar.RuleAlts.Length} rules), bind to vocabulary {bindMs:F1} ms, first mask {firstMaskMs:F1} ms");

        using var noGrad = torch.no_grad();
        var sampler = new Sampler();
        var rows = Enumerable.Range(0, batch).Select(i => new SamplingRow(new SamplingParams { Temperature = 1.0f }, null)).ToList();
        var gen = new Generator(1234);
        // A few logits tensors in turn, so sequences do not repeat one choice.
        var logitsSet = Enumerable.Range(0, 4).Select(_ => torch.randn([batch, vocab.Size], generator: gen).mul(3).to(device)).ToArray();
        // Unconstrained: the sampler alone.
        for (int i = 0; i < 3; i++) sampler.Sample(logitsSet[i % 4], rows);
        // Fresh logits each step, as a model's forward gives them (the copy is not timed), in both loops.
        double freeMs = 0;
        for (int i = 0; i < steps; i++)
        {
            using var fresh = logitsSet[i % 4].clone();
            long f0 = Stopwatch.GetTimestamp();
            sampler.Sample(fresh, rows);
            freeMs += Stopwatch.GetElapsedTime(f0).TotalMilliseconds;
        }
        freeMs /= steps;

        var matchers = Enumerable.Range(0, batch).Select(_ => manager.NewMatcher(so)).ToArray();
        double fill = 0, apply = 0, sample = 0, accept = 0, coldTotal = 0;
        int finished = 0;
        var row0 = new List<int>();
        string? lastDoc = null;
        for (int s = 0; s < warmup + steps; s++)
        {
            using var masked = logitsSet[s % 4].clone(); // the runner masks the forward's logits in place; the copy is not timed
            long t0 = Stopwatch.GetTimestamp();
            var packed = manager.FillBitmask(matchers)!;
            long t1 = Stopwatch.GetTimestamp();
            manager.ApplyBitmask(masked, packed, batch);
            long t2 = Stopwatch.GetTimestamp();
            var (ids, _) = sampler.Sample(masked, rows);
            long t3 = Stopwatch.GetTimestamp();
            for (int r = 0; r < batch; r++)
            {
                if (!matchers[r].AcceptToken(ids[r])) throw new InvalidOperationException($"row {r}: sampled token {ids[r]} was not allowed");
                if (r == 0 && !vocab.IsEos(ids[r])) row0.Add(ids[r]);
                if (matchers[r].IsTerminated)
                {
                    matchers[r] = manager.NewMatcher(so);
                    finished++;
                    if (r == 0) { lastDoc = tok.Decode(row0); row0.Clear(); }
                }
            }
            long t4 = Stopwatch.GetTimestamp();
            if (s < warmup) { coldTotal += Stopwatch.GetElapsedTime(t0, t4).TotalMilliseconds; continue; }
            fill += Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
            apply += Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
            sample += Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
            accept += Stopwatch.GetElapsedTime(t3, t4).TotalMilliseconds;
        }
        double constrained = (fill + apply + sample + accept) / steps;
        Console.WriteLine($"batch {batch}, {device.type}, {steps} steps after {warmup} cold ones ({coldTotal / warmup:F2} ms/step cold); {finished} documents finished, " +
            $"{compiled.Automaton.NumStates} automaton states, {compiled.NumCachedMasks} masks cached");
        Console.WriteLine(lastDoc != null ? $"a finished document: {lastDoc}" : $"row 0 so far ({row0.Count} tokens): {tok.Decode(row0)}");
        Console.WriteLine($"unconstrained step (sampler): {freeMs:F2} ms");
        Console.WriteLine($"constrained step: {constrained:F2} ms = fill bitmask {fill / steps:F2} + apply on device {apply / steps:F2} + sampler {sample / steps:F2} + accept tokens {accept / steps:F2}");
        Console.WriteLine($"masking overhead: {constrained - freeMs:F2} ms/step ({(constrained / freeMs - 1) * 100:F1}% of the sampler-only step)");
        return 0;
    }
}
