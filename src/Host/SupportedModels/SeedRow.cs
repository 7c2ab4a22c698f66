namespace Pipeline.Host.SupportedModels;

/// <summary>
/// One architecture of vLLM's supported-models tables (SupportedModels/vllm-supported-models.tsv): its table
/// (generate, embed, reward, classify, score, embed-multimodal), the models and examples vLLM names, and why it is
/// not supported here yet (shown while no registry entry answers to the name).
/// </summary>
public sealed record SeedRow(string Section, string Architecture, string Models, string Examples, string Reason)
{
    public static IReadOnlyList<SeedRow> Load()
    {
        using var stream = typeof(SeedRow).Assembly.GetManifestResourceStream("vllm-supported-models.tsv")
            ?? throw new InvalidOperationException("vllm-supported-models.tsv is not embedded in the pipeline assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    public static IReadOnlyList<SeedRow> Parse(string tsv) => tsv.Split('\n')
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('\t') is [var s, var a, var m, var e, var r] ? new SeedRow(s, a, m, e, r.Trim())
            : throw new FormatException($"vllm-supported-models.tsv: expected 5 tab-separated fields: {l}"))
        .ToList();
}
