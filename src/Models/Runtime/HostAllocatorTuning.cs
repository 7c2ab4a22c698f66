using System.Runtime.InteropServices;

namespace Pipeline.Models.Runtime;

/// <summary>
/// Host memory settings for libtorch on CPU, applied once before torch loads (glibc only):
/// <list type="bullet">
/// <item>Keeps glibc from handing the step's large temporary CPU tensors back to the kernel after every operation.
/// By default glibc serves allocations above its mmap threshold with fresh mappings and trims the heap top once
/// enough is free, so the same few megabytes of gathered K/V, scores and activations are unmapped and faulted in
/// again, page by page, on every layer of every step; with several torch threads the page faults also contend on
/// the process's address-space lock. Fixing the mmap threshold at its maximum (32 MiB on 64-bit) and raising the
/// trim threshold keeps those pages in the heap for re-use. This is what MALLOC_MMAP_THRESHOLD_ and
/// MALLOC_TRIM_THRESHOLD_ do when set before start; an explicit value in the environment wins.</item>
/// <item>Bounds what that keeps: every 10 s, when more than <see cref="TrimAboveBytes"/> of the heap is free,
/// <c>malloc_trim(0)</c> returns the free pages (PIPELINE_MALLOC_TRIM_MB, default 64; 0 turns it off). Without it the
/// free part grew from about 20 MB to 60-180 MB in 5-6 minutes of the soak's mixed load, and stayed.</item>
/// <item>Bounds oneDNN's primitive cache (ONEDNN_PRIMITIVE_CACHE_CAPACITY) and ideep's (LRU_CACHE_CAPACITY), which
/// bf16 matmuls on CPU fill with one entry per input shape: with a batch size that changes every step, live native
/// memory went from 195 MB to 355-455 MB in 6 minutes of the soak's load, and on with each new shape up to their
/// 1024 entries. At 256 it stays at about 265 MB with the same throughput (caches off: 193 MB, a third of it).
/// An explicit value in the environment wins.</item>
/// </list>
/// PIPELINE_MALLOC_TUNING=0 turns all of this off.
/// </summary>
public static class HostAllocatorTuning
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
    const int MmapThresholdMax = 32 * 1024 * 1024;
    const int TrimThreshold = 1024 * 1024 * 1024;
    public const string PrimitiveCacheCapacity = "256";

    public static bool Applied { get; private set; }
    /// <summary>Free heap bytes above which the periodic trim runs (0: never).</summary>
    public static long TrimAboveBytes { get; private set; }
    /// <summary>Periodic trims that ran.</summary>
    public static long Trims => Interlocked.Read(ref _trims);

    static long _trims;
    static Timer? _trimTimer;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    public static void Apply()
    {
        if (Applied || !OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("PIPELINE_MALLOC_TUNING") == "0") return;
        try
        {
            bool ok = true;
            if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") == null) ok &= Mallopt(M_MMAP_THRESHOLD, MmapThresholdMax) == 1;
            if (Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") == null) ok &= Mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1;
            // The native environment (getenv), which .NET's Environment.SetEnvironmentVariable does not change.
            SetEnv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PrimitiveCacheCapacity, 0);
            SetEnv("LRU_CACHE_CAPACITY", PrimitiveCacheCapacity, 0);
            Applied = ok;
            var trimMb = Environment.GetEnvironmentVariable("PIPELINE_MALLOC_TRIM_MB");
            TrimAboveBytes = (long.TryParse(trimMb, out var mb) && mb >= 0 ? mb : 64) << 20;
            if (TrimAboveBytes > 0) _trimTimer = new Timer(_ => TrimIfMuchIsFree(), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (musl has no mallopt): nothing to tune
        }
    }

    static void TrimIfMuchIsFree()
    {
        if (NativeHeap.Read() is not { } heap || heap.Free <= TrimAboveBytes) return;
        MallocTrim(0);
        Interlocked.Increment(ref _trims);
    }
}
