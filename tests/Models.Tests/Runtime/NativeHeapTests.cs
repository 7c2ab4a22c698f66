using System.Runtime.InteropServices;
using Pipeline.Models.Runtime;
using TorchSharp;

namespace Pipeline.Models.Tests.Runtime;

/// <summary>
/// The native heap totals behind pipeline:native_heap_bytes track libtorch's CPU tensors (a 24 MiB tensor shows in
/// "in use" while it lives), and the host tuning bounds libtorch's per-shape primitive caches in the native environment
/// that oneDNN reads.
/// </summary>
public class NativeHeapTests
{
    [DllImport("libc", EntryPoint = "getenv")]
    static extern IntPtr GetEnv(string name);

    [Fact]
    public void InUseGrowsByALiveTensorsBytes_AndFallsWhenItIsDisposed()
    {
        if (!OperatingSystem.IsLinux()) return;
        TorchRuntime.Initialize();
        const long bytes = 24L << 20; // below the 32 MiB mmap threshold: served from the heap
        torch.ones(16).Dispose(); // torch's first call sets up its own state
        // Other threads (tests running beside this one) allocate too: allow 4 MiB either way, and a few tries.
        var tries = new List<string>();
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var before = NativeHeap.Read() ?? throw new InvalidOperationException("mallinfo2 unavailable on this glibc");
            var t = torch.ones(bytes / 4, torch.ScalarType.Float32);
            var during = NativeHeap.Read()!.Value;
            t.Dispose();
            var after = NativeHeap.Read()!.Value;
            long grew = during.InUse - before.InUse, fell = during.InUse - after.InUse;
            if (Math.Abs(grew - bytes) < 4 << 20 && Math.Abs(fell - bytes) < 4 << 20) return;
            tries.Add($"grew {grew}, fell {fell}");
        }
        Assert.Fail($"in_use did not follow a {bytes}-byte tensor: {string.Join("; ", tries)}");
    }

    [Fact]
    public void TheTuningCapsOneDnnsPrimitiveCache_UnlessTheEnvironmentSetsIt()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("PIPELINE_MALLOC_TUNING") == "0") return;
        TorchRuntime.Initialize();
        Assert.True(HostAllocatorTuning.Applied);
        var expected = Environment.GetEnvironmentVariable("ONEDNN_PRIMITIVE_CACHE_CAPACITY") ?? HostAllocatorTuning.PrimitiveCacheCapacity;
        Assert.Equal(expected, Marshal.PtrToStringAnsi(GetEnv("ONEDNN_PRIMITIVE_CACHE_CAPACITY")));
        Assert.Equal(64L << 20, HostAllocatorTuning.TrimAboveBytes);
    }
}
