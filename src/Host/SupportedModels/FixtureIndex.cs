using System.Text.Json.Nodes;

namespace Pipeline.Host.SupportedModels;

/// <summary>
/// The fixture folders of tests/fixtures/models, tests/fixtures/pooling, tests/fixtures/multimodal/models and
/// tests/fixtures/audio/reference/models (embedded at build time: each folder's
/// config.json) by the architecture they check: a folder is transformers' output for a tiny model of that
/// architecture, which the fixture tests compare against.
/// </summary>
public static class FixtureIndex
{
    const string Prefix = "fixture-config:";

    static readonly Lazy<IReadOnlyList<(string Folder, string Architecture)>> All = new(Load);

    /// <summary>Folders as "models/NAME", "pooling/NAME", "multimodal/models/NAME" or "audio/reference/models/NAME",
    /// in ordinal order, with their architecture.</summary>
    public static IReadOnlyList<(string Folder, string Architecture)> Folders => All.Value;

    public static IReadOnlyList<string> For(string architecture) =>
        All.Value.Where(f => f.Architecture == architecture).Select(f => f.Folder).ToList();

    static IReadOnlyList<(string, string)> Load()
    {
        var assembly = typeof(FixtureIndex).Assembly;
        var list = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            var arch = (JsonNode.Parse(stream)?["architectures"] as JsonArray)?.FirstOrDefault()?.GetValue<string>();
            if (arch != null) list.Add((name[Prefix.Length..].Replace('\\', '/').TrimEnd('/'), arch));
        }
        return list.OrderBy(f => f.Item1, StringComparer.Ordinal).ToList();
    }
}
