using System.Runtime.InteropServices;

namespace Pipeline.Models.Native;

/// <summary>
/// Finds and loads libpipeline_native.so: $PIPELINE_NATIVE_LIB (the file, or a folder holding it), else beside the
/// executable, else in native/ beside it. It is loaded only when CUDA is in use (after TorchRuntime has loaded
/// libtorch's CUDA libraries, which the library links against); absence is normal and costs two File.Exists calls.
/// </summary>
internal static class NativeLibraryLoader
{
    public const string FileName = "libpipeline_native.so";
    public const string EnvironmentVariable = "PIPELINE_NATIVE_LIB";

    /// <summary>The candidate file, or null with the reason none was found.</summary>
    public static string? Find(string? envValue, string baseDir, out string reason)
    {
        if (!string.IsNullOrWhiteSpace(envValue))
        {
            var path = Directory.Exists(envValue) ? Path.Combine(envValue, FileName) : envValue;
            path = Path.GetFullPath(path);
            reason = File.Exists(path) ? "" : $"{EnvironmentVariable}={envValue}: no {path}";
            return File.Exists(path) ? path : null;
        }
        foreach (var dir in new[] { baseDir, Path.Combine(baseDir, "native") })
        {
            var path = Path.Combine(dir, FileName);
            if (File.Exists(path)) { reason = ""; return Path.GetFullPath(path); }
        }
        reason = $"no {FileName} beside the executable or in native/, and {EnvironmentVariable} is not set";
        return null;
    }

    /// <summary>
    /// Finds the library and, when CUDA is in use, loads it and resolves its exports. Never throws.
    /// <paramref name="final"/> is false when the answer may change once CUDA is initialized.
    /// </summary>
    public static NativeLibraryStatus Probe(string? envValue, string baseDir, bool cudaAvailable, out NativeExports? exports, out bool final)
    {
        exports = null;
        final = true;
        var path = Find(envValue, baseDir, out var reason);
        if (path == null) return new(false, null, reason);
        if (!cudaAvailable)
        {
            final = false;
            return new(false, path, $"found {path}, not loaded: CUDA is not in use");
        }
        IntPtr handle;
        try { handle = System.Runtime.InteropServices.NativeLibrary.Load(path); }
        catch (Exception e)
        {
            return new(false, path, $"{path} failed to load: {e.Message}");
        }
        var resolved = NativeExports.Resolve(handle, out var missing);
        if (resolved == null) return new(false, path, $"{path} lacks the export {missing}");
        int abi;
        unsafe { abi = resolved.pn_abi_version(); }
        if (abi != NativeExports.AbiVersion)
            return new(false, path, $"{path} has ABI version {abi}, this build expects {NativeExports.AbiVersion}: rebuild it");
        exports = resolved;
        return new(true, path, $"ABI {abi}");
    }

    /// <summary>Platform check: the library is built for Linux x64 only.</summary>
    public static bool PlatformSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
}
