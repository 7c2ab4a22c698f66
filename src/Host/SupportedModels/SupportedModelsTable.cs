using Pipeline.Models.Registry;

namespace Pipeline.Host.SupportedModels;

/// <summary>One line of the supported-models table: an architecture, its status and the fixtures that check it.</summary>
public sealed record SupportedModelRow(string Section, string Architecture, string Models, bool Supported, string Status, IReadOnlyList<string> Fixtures);

/// <summary>
/// vLLM's supported-models rows (<see cref="SeedRow"/>) against the registries: a row is supported when a built-in
/// entry answers to its name (aliases included), else "not yet" with the reason the data file gives. Built-in
/// architectures no vLLM row names follow, then (for `pipeline models --supported` only) plugin architectures.
/// docs/supported-models.md is this table as markdown.
/// </summary>
public static class SupportedModelsTable
{
    public static readonly (string Key, string Title)[] Sections =
    [
        ("generate", "Text generation (`--task generate`)"),
        ("embed", "Text embedding (`--task embed`)"),
        ("reward", "Reward modeling (`--task reward`)"),
        ("classify", "Classification (`--task classify`)"),
        ("score", "Sentence pair scoring (`--task score`)"),
        ("generate-multimodal", "Multimodal text generation (`--task generate`; images: docs/multimodal.md)"),
        ("transcription", "Transcription (`--task transcription`; docs/speech.md)"),
        ("embed-multimodal", "Multimodal embedding (`--task embed`)"),
        ("other", "Registered here, not in vLLM's tables"),
        ("plugins", "Model plugins"),
    ];

    public static IReadOnlyList<SupportedModelRow> Rows(bool includePlugins) => Rows(SeedRow.Load(), includePlugins);

    public static IReadOnlyList<SupportedModelRow> Rows(IReadOnlyList<SeedRow> seed, bool includePlugins)
    {
        var rows = new List<SupportedModelRow>();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in seed)
        {
            var entry = ModelRegistry.FindBuiltIn(r.Architecture);
            var generative = entry is { Generates: true } ? entry : null;
            bool generateSection = r.Section is "generate" or "generate-multimodal" or "transcription";
            var pooling = !generateSection && entry is { Pools: true } && entry.Architecture == r.Architecture ? entry : null;
            if (pooling != null)
            {
                covered.Add(pooling.Architecture);
                rows.Add(new(r.Section, r.Architecture, r.Models, true, "supported", FixtureIndex.For(pooling.Architecture)));
            }
            else if (generative != null && (generateSection || generative.Convertible))
            {
                covered.Add(generative.Architecture);
                var status = generateSection ? "supported" : $"supported: --runner pooling --convert {Convert(r.Section)}";
                if (generative.Architecture != r.Architecture) status += $" (as {generative.Architecture})";
                rows.Add(new(r.Section, r.Architecture, r.Models, true, status, FixtureIndex.For(generative.Architecture)));
            }
            else rows.Add(new(r.Section, r.Architecture, r.Models, false, $"not yet: {(r.Reason.Length > 0 ? r.Reason : "no reason recorded")}", []));
        }
        foreach (var e in ModelRegistry.BuiltIn.Where(e => !covered.Contains(e.Architecture)))
            rows.Add(new("other", e.Architecture, e.ExampleModels, true, e.Generates ? "supported" : $"supported ({string.Join(", ", e.Tasks)})", FixtureIndex.For(e.Architecture)));
        if (includePlugins)
        {
            foreach (var e in ModelRegistry.Plugins)
                rows.Add(new("plugins", e.Architecture, e.ExampleModels, true,
                    $"plugin {ModelPlugins.SourceOf(e.Architecture)}" + (e.Generates ? "" : $" ({string.Join(", ", e.Tasks)})"), []));
        }
        return rows;
    }

    static string Convert(string section) => section switch
    {
        "reward" => "reward",
        "classify" or "score" => "classify",
        _ => "embed",
    };
}
