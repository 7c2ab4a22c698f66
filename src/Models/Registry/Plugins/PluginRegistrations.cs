namespace Pipeline.Models.Registry;

/// <summary>
/// The architectures model plugins registered, kept apart from the built-in tables so those stay the same in every
/// process. A plugin's registrations are all checked before any is added: a name may not be a built-in architecture
/// (or one of its aliases) nor one another plugin registered.
/// </summary>
static class PluginRegistrations
{
    static readonly object Gate = new();
    static ArchitectureEntry[] _causalLMs = [];
    static PoolingArchitectureEntry[] _poolingModels = [];
    static readonly Dictionary<string, string> SourceByArchitecture = [];

    public static IReadOnlyList<ArchitectureEntry> CausalLMs => _causalLMs;
    public static IReadOnlyList<PoolingArchitectureEntry> PoolingModels => _poolingModels;

    /// <summary>The plugin (its path) that registered <paramref name="architecture"/>, or null for a built-in one.</summary>
    public static string? SourceOf(string architecture)
    {
        lock (Gate) return SourceByArchitecture.GetValueOrDefault(architecture);
    }

    public static void Add(ModelRegistryBuilder registered, string source)
    {
        var names = registered.CausalLMs.Select(e => e.Architecture).Concat(registered.PoolingModels.Select(e => e.Architecture)).ToList();
        if (names.Count == 0) throw new ModelPluginException($"model plugin {source} registers no architecture");
        lock (Gate)
        {
            foreach (var name in names)
            {
                if (ModelRegistry.FindBuiltIn(name) is { } builtIn)
                    throw new ModelPluginException($"model plugin {source} registers {name}, which is the built-in architecture {builtIn.Architecture}"
                        + (builtIn.Architecture != name ? $" (under vLLM's name {name})" : "") + "; give the plugin's architecture another name");
                if (PoolingModelRegistry.BuiltIn.Any(e => e.Architecture == name))
                    throw new ModelPluginException($"model plugin {source} registers {name}, which is a built-in pooling architecture; give the plugin's architecture another name");
                if (SourceByArchitecture.TryGetValue(name, out var other))
                    throw new ModelPluginException($"model plugin {source} registers {name}, which model plugin {other} already registered");
            }
            _causalLMs = [.. _causalLMs, .. registered.CausalLMs];
            _poolingModels = [.. _poolingModels, .. registered.PoolingModels];
            foreach (var name in names) SourceByArchitecture[name] = source;
        }
    }
}
