using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Pipeline.Host.Cli;
using Pipeline.Models.Native;
using Pipeline.Models.Runtime;
using TorchSharp;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline env`: versions, paths and devices, like `vllm collect-env`.</summary>
public static class EnvCommand
{
    public static readonly CommandSpec Spec = new("env", "Print the runtime environment: .NET, TorchSharp, libtorch, devices, model downloads; with MODEL, its tokenizer's path.", ["[MODEL]"],
    [
        new("device", "initialize for cpu, cuda or auto", "auto"),
        new("libtorch", "libtorch folder for CUDA (else $PIPELINE_LIBTORCH, else python3's torch)"),
    ]);

    public static int Run(ParsedArgs args)
    {
        var spec = args.Get("device") ?? "auto";
        string? initError = null;
        try { TorchRuntime.ResolveDevice(spec, args.Get("libtorch")); }
        catch (Exception e) { initError = e.Message; }
        var o = Console.Out;
        o.WriteLine($"Pipeline:          {Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?"}");
        o.WriteLine($".NET:              {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})");
        o.WriteLine($"OS:                {RuntimeInformation.OSDescription}");
        o.WriteLine($"CPU cores:         {Environment.ProcessorCount}");
        o.WriteLine($"Memory:            {MemTotal()}");
        o.WriteLine($"TorchSharp:        {typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]} ({typeof(torch).Assembly.Location})");
        var libDir = TorchRuntime.LibTorchDir ?? TorchRuntime.BundledCpuLibTorch();
        o.WriteLine($"libtorch:          {LibTorchVersion(libDir)} from {TorchRuntime.LibTorchSource}");
        o.WriteLine($"libtorch path:     {libDir ?? "(not found)"}");
        var hub = Pipeline.Models.Loading.Hub.HubOptions.FromEnvironment();
        o.WriteLine($"Model hub:         {(hub.UseModelScope ? "ModelScope (VLLM_USE_MODELSCOPE)" : "Hugging Face Hub")} at {hub.Endpoint}{(hub.Offline ? ", offline (HF_HUB_OFFLINE)" : "")}, token {(hub.Token != null ? $"from {hub.TokenSource}" : "not set")}");
        o.WriteLine($"Model cache:       {hub.CacheDir}");
        o.WriteLine($"Tokenizers:        tokenizer.json (built in); tokenizer.model (SentencePiece) and *.tiktoken via Microsoft.ML.Tokenizers {typeof(Microsoft.ML.Tokenizers.Tokenizer).Assembly.GetName().Version}");
        if (args.Positionals.Count > 0)
        {
            try
            {
                var dir = Pipeline.Models.Loading.ModelResolver.Resolve(args.Positionals[0]);
                o.WriteLine($"Model tokenizer:   {Pipeline.Models.Tokenizers.HfTokenizer.Load(dir).Source} ({dir})");
            }
            catch (Exception e) when (e is Pipeline.Models.Loading.ModelNotFoundException or Pipeline.Models.Tokenizers.TokenizerLoadException) { o.WriteLine($"Model tokenizer:   {e.Message}"); }
        }
        if (initError != null) { o.WriteLine($"Backend error:     {initError}"); return 1; }
        o.WriteLine($"CUDA available:    {TorchRuntime.CudaAvailable}");
        o.WriteLine($"Native library:    {NativeOps.Describe()}");
        o.WriteLine("Devices:");
        o.WriteLine($"  cpu: {Environment.ProcessorCount} cores, {MemTotal()}");
        if (TorchRuntime.CudaAvailable)
        {
            int n = torch.cuda.device_count();
            var smi = NvidiaSmi();
            for (int i = 0; i < n; i++)
                o.WriteLine($"  cuda:{i}: {(i < smi.Count ? smi[i] : "(nvidia-smi unavailable: name and memory unknown)")}");
        }
        return 0;
    }

    static string LibTorchVersion(string? libDir)
    {
        if (libDir != null)
        {
            // A PyTorch install: torch/version.py beside torch/lib.
            var versionPy = Path.Combine(Path.GetDirectoryName(libDir.TrimEnd('/'))!, "version.py");
            if (File.Exists(versionPy))
            {
                var m = Regex.Match(File.ReadAllText(versionPy), "__version__\\s*=\\s*['\"]([^'\"]+)['\"]");
                if (m.Success) return m.Groups[1].Value;
            }
        }
        return $"{torch.__version__} (bundled libtorch-cpu)";
    }

    static string MemTotal()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:"));
            if (line != null && long.TryParse(Regex.Match(line, "\\d+").Value, out var kb)) return $"{kb / 1024.0 / 1024.0:F1} GiB";
        }
        catch (IOException) { }
        return "unknown";
    }

    static List<string> NvidiaSmi()
    {
        try
        {
            var psi = new ProcessStartInfo("nvidia-smi", "--query-gpu=name,memory.total,memory.used,driver_version --format=csv,noheader")
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            p.WaitForExit(10_000);
            return lines.Select(l => l.Split(',', StringSplitOptions.TrimEntries)).Select(f =>
                f.Length >= 4 ? $"{f[0]}, memory {f[1]} total, {f[2]} used, driver {f[3]}" : string.Join(", ", f)).ToList();
        }
        catch (Exception) { return []; }
    }
}
