using System.Reflection;

namespace Pipeline.Models.Registry;

/// <summary>
/// Loads model plugins (see <see cref="IModelPlugin"/>) into the registries: assemblies given by path, plugin folders,
/// and PIPELINE_MODEL_PLUGINS. A folder holds plugins as <c>DIR/*.dll</c> or, with their own dependencies,
/// <c>DIR/NAME/NAME.dll</c>. Loading a path twice is a no-op, so every entry point may load what it was given.
/// </summary>
public static class ModelPlugins
{
    /// <summary>Plugin assemblies or folders, separated by the platform's path separator (':' on Linux).</summary>
    public const string EnvironmentVariable = "PIPELINE_MODEL_PLUGINS";

    static readonly object Gate = new();
    static readonly Dictionary<string, string[]> LoadedPaths = new(StringComparer.Ordinal);

    /// <summary>The paths named in PIPELINE_MODEL_PLUGINS.</summary>
    public static IReadOnlyList<string> FromEnvironment() =>
        (Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Loads each path (a plugin assembly or a plugins folder) and returns the architectures they registered.</summary>
    public static IReadOnlyList<string> Load(IEnumerable<string> paths)
    {
        var names = new List<string>();
        foreach (var path in paths)
            names.AddRange(Directory.Exists(path) ? LoadFolder(path) : LoadAssembly(path));
        return names;
    }

    /// <summary>Every plugin in <paramref name="dir"/>: <c>*.dll</c> directly in it and <c>NAME/NAME.dll</c> below it.</summary>
    public static IReadOnlyList<string> LoadFolder(string dir)
    {
        if (!Directory.Exists(dir)) throw new ModelPluginException($"model plugin folder '{dir}' does not exist");
        var assemblies = Directory.GetFiles(dir, "*.dll")
            .Concat(Directory.GetDirectories(dir).Select(d => Path.Combine(d, Path.GetFileName(d) + ".dll")).Where(File.Exists))
            .Order(StringComparer.Ordinal).ToList();
        if (assemblies.Count == 0)
            throw new ModelPluginException($"model plugin folder '{dir}' has no plugin: expected DIR/*.dll or DIR/NAME/NAME.dll");
        return assemblies.SelectMany(LoadAssembly).ToList();
    }

    /// <summary>Loads one plugin assembly and registers what its <see cref="IModelPlugin"/> classes add.</summary>
    public static IReadOnlyList<string> LoadAssembly(string path)
    {
        var full = Path.GetFullPath(path);
        lock (Gate)
        {
            if (LoadedPaths.TryGetValue(full, out var done)) return done;
            if (!File.Exists(full)) throw new ModelPluginException($"model plugin '{path}' was not found" + (Directory.Exists(Path.GetDirectoryName(full)) ? "" : " (its folder does not exist)"));
            Assembly assembly;
            try { assembly = new ModelPluginLoadContext(full).LoadFromAssemblyPath(full); }
            catch (BadImageFormatException) { throw new ModelPluginException($"model plugin '{path}' is not a .NET assembly"); }
            catch (FileLoadException e) { throw new ModelPluginException($"model plugin '{path}' could not be loaded: {e.Message}", e); }
            var builder = new ModelRegistryBuilder();
            foreach (var type in PluginTypes(assembly, path))
            {
                var plugin = (IModelPlugin)(Activator.CreateInstance(type)
                    ?? throw new ModelPluginException($"model plugin '{path}': {type.FullName} could not be created"));
                try { plugin.Register(builder); }
                catch (Exception e) when (e is not ModelPluginException)
                {
                    throw new ModelPluginException($"model plugin '{path}': {type.FullName}.Register failed: {e.Message}", e);
                }
            }
            PluginRegistrations.Add(builder, path);
            var names = builder.Entries.Select(e => e.Architecture).ToArray();
            LoadedPaths[full] = names;
            return names;
        }
    }

    /// <summary>Registers an in-process plugin (a library host that has the model classes at hand).</summary>
    public static IReadOnlyList<string> Register(IModelPlugin plugin, string? source = null)
    {
        var builder = new ModelRegistryBuilder();
        plugin.Register(builder);
        PluginRegistrations.Add(builder, source ?? plugin.GetType().FullName!);
        return builder.Entries.Select(e => e.Architecture).ToArray();
    }

    /// <summary>The plugin path that registered <paramref name="architecture"/>; null for a built-in architecture.</summary>
    public static string? SourceOf(string architecture) => PluginRegistrations.SourceOf(architecture);

    static List<Type> PluginTypes(Assembly assembly, string path)
    {
        Type[] exported;
        try { exported = assembly.GetExportedTypes(); }
        catch (Exception e) when (e is ReflectionTypeLoadException or TypeLoadException or FileNotFoundException or FileLoadException)
        {
            var detail = e is ReflectionTypeLoadException r ? r.LoaderExceptions.FirstOrDefault()?.Message ?? e.Message : e.Message;
            throw new ModelPluginException($"model plugin '{path}': its types could not be loaded ({detail}); was it built against this Pipeline.Models?", e);
        }
        var plugins = exported.Where(t => t.IsClass && !t.IsAbstract && typeof(IModelPlugin).IsAssignableFrom(t)).ToList();
        if (plugins.Count > 0)
        {
            if (plugins.FirstOrDefault(t => t.GetConstructor(Type.EmptyTypes) == null) is { } noCtor)
                throw new ModelPluginException($"model plugin '{path}': {noCtor.FullName} needs a public parameterless constructor");
            return plugins;
        }
        // Implementing another copy's IModelPlugin (the plugin loaded its own Pipeline.Models) is the likely mistake.
        if (exported.Any(t => t.GetInterfaces().Any(i => i.FullName == typeof(IModelPlugin).FullName)))
            throw new ModelPluginException($"model plugin '{path}' implements IModelPlugin from another copy of Pipeline.Models than the host's");
        throw new ModelPluginException($"model plugin '{path}' has no registrations: no public class implements {typeof(IModelPlugin).FullName}");
    }
}
