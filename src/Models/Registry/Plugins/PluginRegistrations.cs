namespace Pipeline.Models.Registry;

/// <summary>
/// The architectures model plugins registered, kept apart from the built-in tables so those stay the same in every
/// process. A plugin's registrations are all checked before any is added: a name may not be a built-in architecture
/// (or one of its aliases) nor one another plugin registered.
/// </summary>
static class PluginRegistrations
{
    static readonly object Gate = new();
    static ArchitectureEntry[] _entries = [];
    static readonly Dictionary<string, string> SourceByArchitecture = [];

    /// <summary>Causal LMs and pooling models, in registration order.</summary>
    public static IReadOnlyList<ArchitectureEntry> Entries => _entries;

    /// <summary>The plugin (its path) that registered <paramref name="architecture"/>, or null for a built-in one.</summary>
    public static string? SourceOf(string architecture)
    {
        lock (Gate) return SourceByArchitecture.GetValueOrDefault(architecture);
    }

    public static void Add(ModelRegistryBuilder registered, string source)
    {
        var names = registered.Entries.Select(e => e.Architecture).ToList();
        if (names.Count == 0) throw new ModelPluginException($"model plugin {source} registers no architecture");
        lock (Gate)
        {
            foreach (var name in names)
            {
                if (ModelRegistry.FindBuiltIn(name) is { } builtIn)
                    throw new ModelPluginException($"model plugin {source} registers {name}, which is "
                        + (builtIn.Generates ? $"the built-in architecture {builtIn.Architecture}" : $"a built-in pooling architecture ({builtIn.Architecture})")
                        + (builtIn.Architecture != name ? $" (under vLLM's name {name})" : "") + "; give the plugin's architecture another name");
                if (SourceByArchitecture.TryGetValue(name, out var other))
                    throw new ModelPluginException($"model plugin {source} registers {name}, which model plugin {other} already registered");
            }
            _entries = [.. _entries, .. registered.Entries];
            foreach (var name in names) SourceByArchitecture[name] = source;
        }
    }
}
