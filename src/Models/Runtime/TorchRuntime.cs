using System.Runtime.InteropServices;
using TorchSharp;

namespace Pipeline.Models.Runtime;

/// <summary>
/// Loads the native torch backend once per process. With a bundled libtorch-cpu nothing needs doing;
/// for CUDA the libraries of an external libtorch (a PyTorch install) are preloaded by full path before
/// TorchSharp's first use, so its own libLibTorchSharp.so binds to them.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool _initialized;
    public static string? LibTorchDir { get; private set; }
    public static string LibTorchSource { get; private set; } = "bundled libtorch-cpu";
    public static bool CudaAvailable { get; private set; }

    // Order matters: each library must find the ones before it already loaded.
    static readonly string[] CudaLibraries = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    /// <summary>Initializes the backend. <paramref name="wantCuda"/>: null = use CUDA when it can be found.</summary>
    public static void Initialize(string? libTorchOption = null, bool? wantCuda = null)
    {
        lock (Gate)
        {
            if (_initialized) return;
            HostAllocatorTuning.Apply();
            var bundled = BundledCpuLibTorch();
            string? dir = null;
            // A build without its own libtorch-cpu (the CUDA publish) needs the external one for --device cpu too.
            if (libTorchOption != null || bundled == null || wantCuda == true)
                dir = LibTorchLocator.Find(libTorchOption, out var source) is { } found ? Use(found, source) : null;
            if (dir != null)
            {
                foreach (var lib in CudaLibraries)
                {
                    var path = Path.Combine(dir, lib);
                    if (File.Exists(path)) NativeLibrary.Load(path);
                }
                CudaAvailable = wantCuda != false && File.Exists(Path.Combine(dir, "libtorch_cuda.so")) && torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available();
            }
            else if (bundled == null && wantCuda == true)
                throw new InvalidOperationException("CUDA was requested but no libtorch with CUDA was found: pass --libtorch DIR, set PIPELINE_LIBTORCH, or install PyTorch for python3.");
            else if (bundled == null)
                throw new InvalidOperationException("This build ships no libtorch and none was found: pass --libtorch DIR, set PIPELINE_LIBTORCH, or install PyTorch for python3.");
            if (wantCuda == true && !CudaAvailable)
                throw new InvalidOperationException($"CUDA was requested but is not available with libtorch from {LibTorchSource} ({LibTorchDir ?? "bundled"}).");
            _initialized = true;
        }
    }

    static string Use(string dir, string source)
    {
        LibTorchDir = dir;
        LibTorchSource = source;
        return dir;
    }

    /// <summary>The libtorch-cpu copy shipped next to the app, if this build has one.</summary>
    public static string? BundledCpuLibTorch()
    {
        var baseDir = AppContext.BaseDirectory;
        foreach (var d in new[] { baseDir, Path.Combine(baseDir, "runtimes", "linux-x64", "native") })
            if (File.Exists(Path.Combine(d, "libtorch_cpu.so"))) return d;
        return null;
    }

    /// <summary>Parses cpu | cuda | cuda:N | auto (null) into a torch device, initializing the backend first.</summary>
    public static torch.Device ResolveDevice(string? device, string? libTorchOption = null)
    {
        var spec = (device ?? "auto").Trim().ToLowerInvariant();
        bool? wantCuda = spec switch { "auto" => null, "cpu" => false, _ when spec.StartsWith("cuda") => true, _ => throw new ArgumentException($"--device must be cpu, cuda or cuda:N, got '{device}'") };
        Initialize(libTorchOption, wantCuda);
        if (spec == "auto") return CudaAvailable ? torch.CUDA : torch.CPU;
        if (spec == "cpu") return torch.CPU;
        int index = 0;
        if (spec.Length > 4)
        {
            if (spec[4] != ':' || !int.TryParse(spec.AsSpan(5), out index) || index < 0)
                throw new ArgumentException($"--device must be cpu, cuda or cuda:N, got '{device}'");
            int count = torch.cuda.device_count();
            if (index >= count) throw new ArgumentException($"--device {device}: only {count} CUDA device(s) are visible");
        }
        return new torch.Device(DeviceType.CUDA, index);
    }
}
