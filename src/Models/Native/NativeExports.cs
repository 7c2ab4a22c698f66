namespace Pipeline.Models.Native;

/// <summary>
/// Function pointers to the C ABI of libpipeline_native (src/Native/include/pipeline_native.h). Tensor arguments
/// are TorchSharp handles (Tensor.Handle, an at::Tensor*); every function but the first two returns 0 or an error status.
/// </summary>
internal sealed unsafe class NativeExports
{
    public const int AbiVersion = 1;

    public delegate* unmanaged<int> pn_abi_version;
    public delegate* unmanaged<IntPtr> pn_last_error;
    public delegate* unmanaged<int> pn_cuda_synchronize;
    public delegate* unmanaged<IntPtr*, int> pn_graph_create;
    public delegate* unmanaged<IntPtr, delegate* unmanaged<IntPtr, int>, IntPtr, int, int> pn_graph_capture;
    public delegate* unmanaged<IntPtr, int> pn_graph_replay;
    public delegate* unmanaged<IntPtr, int> pn_graph_destroy;
    // out, q, k_cache, v_cache, block_tables, seq_lens, scale, sliding_window, block_size
    public delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, double, int, int, int> pn_paged_decode_attention;
    // out, q, k_cache, v_cache, cu_seqlens_q, seq_lens_k, block_tables, max_q, max_k, scale, sliding_window, block_size, total_k
    public delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, long, long, double, int, int, long, int> pn_paged_prefill_attention;
    public delegate* unmanaged<IntPtr, IntPtr, IntPtr, double, int> pn_rms_norm;
    public delegate* unmanaged<IntPtr, IntPtr, IntPtr, double, int> pn_fused_add_rms_norm;
    public delegate* unmanaged<IntPtr, IntPtr, int> pn_silu_and_mul;
    // q, k, v, positions, cos_sin_cache, k_cache, v_cache, slot_mapping, is_neox
    public delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int> pn_rotary_and_cache;

    /// <summary>Resolves every export of a loaded library; null (and the missing name) if one is absent.</summary>
    public static NativeExports? Resolve(IntPtr library, out string? missing)
    {
        var e = new NativeExports();
        missing = null;
        IntPtr Get(string name, ref string? miss)
        {
            if (System.Runtime.InteropServices.NativeLibrary.TryGetExport(library, name, out var p)) return p;
            miss ??= name;
            return IntPtr.Zero;
        }
        e.pn_abi_version = (delegate* unmanaged<int>)Get(nameof(pn_abi_version), ref missing);
        e.pn_last_error = (delegate* unmanaged<IntPtr>)Get(nameof(pn_last_error), ref missing);
        e.pn_cuda_synchronize = (delegate* unmanaged<int>)Get(nameof(pn_cuda_synchronize), ref missing);
        e.pn_graph_create = (delegate* unmanaged<IntPtr*, int>)Get(nameof(pn_graph_create), ref missing);
        e.pn_graph_capture = (delegate* unmanaged<IntPtr, delegate* unmanaged<IntPtr, int>, IntPtr, int, int>)Get(nameof(pn_graph_capture), ref missing);
        e.pn_graph_replay = (delegate* unmanaged<IntPtr, int>)Get(nameof(pn_graph_replay), ref missing);
        e.pn_graph_destroy = (delegate* unmanaged<IntPtr, int>)Get(nameof(pn_graph_destroy), ref missing);
        e.pn_paged_decode_attention = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, double, int, int, int>)Get(nameof(pn_paged_decode_attention), ref missing);
        e.pn_paged_prefill_attention = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, long, long, double, int, int, long, int>)Get(nameof(pn_paged_prefill_attention), ref missing);
        e.pn_rms_norm = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, double, int>)Get(nameof(pn_rms_norm), ref missing);
        e.pn_fused_add_rms_norm = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, double, int>)Get(nameof(pn_fused_add_rms_norm), ref missing);
        e.pn_silu_and_mul = (delegate* unmanaged<IntPtr, IntPtr, int>)Get(nameof(pn_silu_and_mul), ref missing);
        e.pn_rotary_and_cache = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int>)Get(nameof(pn_rotary_and_cache), ref missing);
        return missing == null ? e : null;
    }

    /// <summary>The calling thread's last error from the library.</summary>
    public string LastError() =>
        System.Runtime.InteropServices.Marshal.PtrToStringUTF8(pn_last_error()) is { Length: > 0 } s ? s : "unknown error";
}
