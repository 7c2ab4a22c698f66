using System.Reflection;
using System.Runtime.Loader;

namespace Pipeline.Models.Registry;

/// <summary>
/// The load context of one plugin assembly. Every assembly the host can load (Pipeline.Models, TorchSharp, the
/// framework) comes from the host, so the plugin's types derive from the host's DecoderForCausalLM and its tensors are
/// the host's tensors; only what the host lacks is loaded from the plugin's folder (its deps.json, else beside it).
/// </summary>
sealed class ModelPluginLoadContext(string pluginPath) : AssemblyLoadContext($"model-plugin:{Path.GetFileName(pluginPath)}")
{
    readonly AssemblyDependencyResolver _resolver = new(pluginPath);

    protected override Assembly? Load(AssemblyName name)
    {
        if (FromHost(name) is { } shared) return shared;
        var path = _resolver.ResolveAssemblyToPath(name) ?? Beside(name);
        return path != null ? LoadFromAssemblyPath(path) : null;
    }

    static Assembly? FromHost(AssemblyName name)
    {
        var loaded = Default.Assemblies.FirstOrDefault(a => AssemblyName.ReferenceMatchesDefinition(new AssemblyName(name.Name!), a.GetName()));
        if (loaded != null) return loaded;
        try { return Default.LoadFromAssemblyName(new AssemblyName(name.Name!)); }
        catch (FileNotFoundException) { return null; }
        catch (FileLoadException) { return null; }
    }

    string? Beside(AssemblyName name)
    {
        var path = Path.Combine(Path.GetDirectoryName(pluginPath)!, name.Name + ".dll");
        return File.Exists(path) ? path : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
