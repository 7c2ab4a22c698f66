using System.Runtime.InteropServices;

namespace Pipeline.Models.Runtime;

/// <summary>
/// Keeps glibc from handing the step's large temporary CPU tensors back to the kernel after every operation.
/// By default glibc serves allocations above its mmap threshold with fresh mappings and trims the heap top once
/// enough is free, so the same few megabytes of gathered K/V, scores and activations are unmapped and faulted in
/// again, page by page, on every layer of every step; with several torch threads the page faults also contend on
/// the process's address-space lock. Fixing the mmap threshold at its maximum (32 MiB on 64-bit) and raising the
/// trim threshold keeps those pages in the heap for re-use. This is what MALLOC_MMAP_THRESHOLD_ and
/// MALLOC_TRIM_THRESHOLD_ do when set before start; an explicit value in the environment wins, and
/// PIPELINE_MALLOC_TUNING=0 turns this off.
/// </summary>
public static class HostAllocatorTuning
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
    const int MmapThresholdMax = 32 * 1024 * 1024;
    const int TrimThreshold = 1024 * 1024 * 1024;

    public static bool Applied { get; private set; }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int param, int value);

    public static void Apply()
    {
        if (Applied || !OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("PIPELINE_MALLOC_TUNING") == "0") return;
        try
        {
            bool ok = true;
            if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") == null) ok &= Mallopt(M_MMAP_THRESHOLD, MmapThresholdMax) == 1;
            if (Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") == null) ok &= Mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1;
            Applied = ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (musl has no mallopt): nothing to tune
        }
    }
}
