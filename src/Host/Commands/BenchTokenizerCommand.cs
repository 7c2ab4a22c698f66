using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Pipeline.Host.Cli;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-tokenizer`: encode throughput and incremental-decode cost per token, measured exactly as
/// scripts/bench/tokenizers_python.py measures Python tokenizers (same text, line by line, best of 3).
/// </summary>
public static class BenchTokenizerCommand
{
    public static readonly CommandSpec Spec = new("bench-tokenizer", "Encode MB/s and incremental decode us/token for each tokenizer under a fixtures folder.", ["DIR"],
    [
        new("repeats", "timed passes over the text (best is reported)", "3"),
    ]);

    public static int Run(ParsedArgs args)
    {
        var root = args.Positionals.Count > 0 ? args.Positionals[0] : "tests/fixtures/tokenizers";
        var dirs = Directory.GetDirectories(root).Where(d => File.Exists(Path.Combine(d, "tokenizer.json"))).Order(StringComparer.Ordinal).ToList();
        if (dirs.Count == 0) throw new CliException($"no tokenizer folders under {root}");
        var text = Corpus(dirs);
        double mb = Encoding.UTF8.GetByteCount(text) / 1e6;
        Console.WriteLine($"text {mb:F2} MB, single thread");
        var lines = text.Split('\n');
        foreach (var d in dirs)
        {
            var tok = HfTokenizer.Load(d);
            foreach (var l in lines.Take(100)) tok.Encode(l, false);
            double best = double.MaxValue;
            long n = 0;
            for (int r = 0; r < args.Int("repeats"); r++)
            {
                var sw = Stopwatch.StartNew();
                n = 0;
                foreach (var l in lines) n += tok.Encode(l, false).Length;
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            var ids = tok.Encode(text[..Math.Min(200_000, text.Length)], false);
            var detok = new IncrementalDetokenizer(tok, [], skipSpecialTokens: false);
            var t = Stopwatch.StartNew();
            foreach (var id in ids) detok.Append(id);
            double per = t.Elapsed.TotalMicroseconds / ids.Length;
            Console.WriteLine($"{Path.GetFileName(d)}: encode {mb / best:F2} MB/s ({n} tokens), incremental decode {per:F2} us/token");
        }
        return 0;
    }

    /// <summary>Every fixture string joined by newlines, repeated to at least 1 MB (as the Python script builds it).</summary>
    static string Corpus(IEnumerable<string> dirs)
    {
        var texts = new List<string>();
        foreach (var d in dirs)
        {
            var f = Path.Combine(d, "expected.json");
            if (!File.Exists(f)) continue;
            using var doc = JsonDocument.Parse(File.ReadAllText(f));
            texts.AddRange(doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("text").GetString()!));
        }
        var unit = string.Join("\n", texts);
        int reps = Math.Max(1, (1 << 20) / Encoding.UTF8.GetByteCount(unit) + 1);
        return string.Join("\n", Enumerable.Repeat(unit, reps));
    }
}
