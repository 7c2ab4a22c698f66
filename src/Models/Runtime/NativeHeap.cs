using System.Runtime.InteropServices;

namespace Pipeline.Models.Runtime;

/// <summary>
/// glibc's malloc totals (mallinfo2), where libtorch's CPU tensors live: bytes in use by live allocations, and bytes
/// the allocator holds free (in its arenas, not returned to the kernel). RSS growing with "in use" flat is allocator
/// retention; "in use" growing is live native memory. Null where the C library is not glibc 2.33+.
/// </summary>
public static class NativeHeap
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    static extern MallInfo2 Mallinfo2();

    static bool _unavailable;

    /// <summary>InUse: allocated bytes (arenas and mmapped); Free: free bytes kept in the arenas; Mapped: bytes in mmapped chunks.</summary>
    public static (long InUse, long Free, long Mapped)? Read()
    {
        if (_unavailable || !OperatingSystem.IsLinux()) return null;
        try
        {
            var m = Mallinfo2();
            return ((long)m.UordBlks + (long)m.HBlkHd, (long)m.FordBlks, (long)m.HBlkHd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return null;
        }
    }
}
