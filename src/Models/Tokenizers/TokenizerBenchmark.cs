using System.Diagnostics;
using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>Rough throughput numbers for documentation: encode speed and incremental decode cost per token.</summary>
public static class TokenizerBenchmark
{
    public static (double mbPerSecond, double usPerTokenIncremental) Run(HfTokenizer tok, string text, int repeats)
    {
        ArgumentNullException.ThrowIfNull(tok);
        ArgumentNullException.ThrowIfNull(text);
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "repeats must be at least 1");
        var ids = tok.Encode(text, addSpecialTokens: false);
        Stream(tok, ids);

        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) tok.Encode(text, addSpecialTokens: false);
        double seconds = sw.Elapsed.TotalSeconds;
        double mb = (double)Encoding.UTF8.GetByteCount(text) * repeats / (1024 * 1024);

        sw.Restart();
        for (int i = 0; i < repeats; i++) Stream(tok, ids);
        double us = ids.Length == 0 ? 0 : sw.Elapsed.TotalMicroseconds / ((double)ids.Length * repeats);
        return (seconds > 0 ? mb / seconds : double.PositiveInfinity, us);
    }

    private static void Stream(HfTokenizer tok, int[] ids)
    {
        var detok = new IncrementalDetokenizer(tok, [], skipSpecialTokens: true);
        foreach (int id in ids) detok.Append(id);
    }
}
