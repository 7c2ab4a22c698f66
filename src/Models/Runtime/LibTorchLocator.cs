using System.Diagnostics;

namespace Pipeline.Models.Runtime;

/// <summary>
/// Finds the libtorch to use for CUDA: --libtorch DIR, else PIPELINE_LIBTORCH, else the torch package
/// of the machine's python3. CPU builds bundle libtorch-cpu and need none of this.
/// </summary>
public static class LibTorchLocator
{
    public const string EnvironmentVariable = "PIPELINE_LIBTORCH";

    public static string? Find(string? option, out string source)
    {
        if (!string.IsNullOrWhiteSpace(option)) { source = "--libtorch"; return Normalize(option); }
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) { source = EnvironmentVariable; return Normalize(env); }
        var fromPython = AskPython();
        source = fromPython != null ? "python3 torch package" : "none";
        return fromPython;
    }

    /// <summary>Accepts the torch package folder, its lib folder, or a libtorch distribution folder.</summary>
    static string Normalize(string dir)
    {
        dir = Path.GetFullPath(dir);
        if (File.Exists(Path.Combine(dir, "libtorch.so"))) return dir;
        var lib = Path.Combine(dir, "lib");
        if (File.Exists(Path.Combine(lib, "libtorch.so"))) return lib;
        throw new DirectoryNotFoundException($"No libtorch.so in '{dir}' or '{lib}' (from --libtorch or {EnvironmentVariable}).");
    }

    static string? AskPython()
    {
        try
        {
            var psi = new ProcessStartInfo("python3", "-c \"import os, torch; print(os.path.dirname(torch.__file__))\"")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var p = Process.Start(psi);
            if (p == null) return null;
            var output = p.StandardOutput.ReadToEnd().Trim();
            if (!p.WaitForExit(30_000) || p.ExitCode != 0 || output.Length == 0) return null;
            var lib = Path.Combine(output, "lib");
            return File.Exists(Path.Combine(lib, "libtorch.so")) ? lib : null;
        }
        catch (Exception) { return null; }
    }
}
