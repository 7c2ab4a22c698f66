using Pipeline.Models.Runtime;
using static TorchSharp.torch;

namespace Pipeline.Models.Native;

/// <summary>
/// The kernels of libpipeline_native (paged attention, fused norms, SiLU-and-mul, rotary + cache write) called on
/// TorchSharp tensors. Check <see cref="IsAvailable"/> first: without the library (CPU runs, CI, a CUDA machine where
/// it was not built) callers keep their TorchSharp path. Every kernel runs on the current CUDA stream and never
/// synchronizes with the host, so it can run inside a <see cref="CudaGraph"/> capture. A failure throws
/// <see cref="NativeException"/> with the library's message.
/// </summary>
public static class NativeOps
{
    static readonly object Gate = new();
    static NativeLibraryStatus? _status;
    static NativeExports? _exports;

    /// <summary>The library's state; probing it is cheap, loads it at most once, and never throws.</summary>
    public static NativeLibraryStatus Status
    {
        get
        {
            lock (Gate)
            {
                if (_status != null) return _status;
                if (!NativeLibraryLoader.PlatformSupported) return _status = new(false, null, "built for linux-x64 only");
                var status = NativeLibraryLoader.Probe(Environment.GetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable),
                    AppContext.BaseDirectory, TorchRuntime.CudaAvailable, out var exports, out var final);
                _exports = exports;
                if (final) _status = status;  // "found but CUDA not in use yet" is asked again later
                return status;
            }
        }
    }

    public static bool IsAvailable => Status.Available;

    /// <summary>The loaded library's path, or null.</summary>
    public static string? Location => Status is { Available: true } s ? s.Path : null;

    /// <summary>One line for `pipeline env`.</summary>
    public static string Describe() => Status.ToString();

    internal static NativeExports Exports =>
        IsAvailable ? _exports! : throw new InvalidOperationException($"libpipeline_native is not available: {Status.Detail}");

    internal static void Check(int status, string op)
    {
        if (status != 0) throw new NativeException($"{op} failed: {Exports.LastError()}");
    }

    public static unsafe void CudaSynchronize() => Check(Exports.pn_cuda_synchronize(), "pn_cuda_synchronize");

    /// <summary>
    /// Decode attention over the paged cache. q, output: [B, H, D]; caches: [slots, Hkv, D] or [blocks, blockSize, Hkv, D];
    /// blockTables int32 [B, maxBlocks]; seqLens int32 [B] (0 = padding row, output zeroed). slidingWindow &lt;= 0: none.
    /// </summary>
    public static unsafe void PagedDecodeAttention(Tensor output, Tensor query, Tensor keyCache, Tensor valueCache,
        Tensor blockTables, Tensor seqLens, double scale, int slidingWindow, int blockSize)
    {
        var rc = Exports.pn_paged_decode_attention(output.Handle, query.Handle, keyCache.Handle, valueCache.Handle,
            blockTables.Handle, seqLens.Handle, scale, slidingWindow, blockSize);
        KeepAlive(output, query, keyCache, valueCache, blockTables, seqLens);
        Check(rc, "pn_paged_decode_attention");
    }

    /// <summary>
    /// Varlen prefill (or mixed) attention over the paged cache. q, output: [T, H, D]; cuSeqlensQ int32 [B + 1];
    /// seqLensK int32 [B] (cached context + new tokens); query i of sequence s sits at seqLensK[s] - qLen(s) + i.
    /// totalK: the sum of seqLensK when known (else -1: one host synchronization on the half-precision path).
    /// </summary>
    public static unsafe void PagedPrefillAttention(Tensor output, Tensor query, Tensor keyCache, Tensor valueCache,
        Tensor cuSeqlensQ, Tensor seqLensK, Tensor blockTables, long maxQ, long maxK, double scale, int slidingWindow,
        int blockSize, long totalK = -1)
    {
        var rc = Exports.pn_paged_prefill_attention(output.Handle, query.Handle, keyCache.Handle, valueCache.Handle,
            cuSeqlensQ.Handle, seqLensK.Handle, blockTables.Handle, maxQ, maxK, scale, slidingWindow, blockSize, totalK);
        KeepAlive(output, query, keyCache, valueCache, cuSeqlensQ, seqLensK, blockTables);
        Check(rc, "pn_paged_prefill_attention");
    }

    /// <summary>output = weight * rmsnorm(x) over the last dim (transformers' LlamaRMSNorm rounding).</summary>
    public static unsafe void RmsNorm(Tensor output, Tensor x, Tensor weight, double eps)
    {
        var rc = Exports.pn_rms_norm(output.Handle, x.Handle, weight.Handle, eps);
        KeepAlive(output, x, weight);
        Check(rc, "pn_rms_norm");
    }

    /// <summary>residual += x; x = weight * rmsnorm(residual); both in place (vLLM's fused_add_rms_norm).</summary>
    public static unsafe void FusedAddRmsNorm(Tensor x, Tensor residual, Tensor weight, double eps)
    {
        var rc = Exports.pn_fused_add_rms_norm(x.Handle, residual.Handle, weight.Handle, eps);
        KeepAlive(x, residual, weight);
        Check(rc, "pn_fused_add_rms_norm");
    }

    /// <summary>x: [T, 2I]; output: [T, I] = silu(x[:, :I]) * x[:, I:].</summary>
    public static unsafe void SiluAndMul(Tensor output, Tensor x)
    {
        var rc = Exports.pn_silu_and_mul(output.Handle, x.Handle);
        KeepAlive(output, x);
        Check(rc, "pn_silu_and_mul");
    }

    /// <summary>
    /// Rotary embedding of q [T, H, D] and k [T, Hkv, D] in place (cosSinCache: float32 [maxPos, rotDim], cos half
    /// then sin half; positions int64 [T]), then k and v written into the caches at slotMapping (int64 [T]; a slot
    /// &lt; 0 skips the row). Pass null caches and slot mapping for rotary only. isNeox: Llama's half rotation.
    /// </summary>
    public static unsafe void RotaryAndCache(Tensor q, Tensor k, Tensor v, Tensor positions, Tensor cosSinCache,
        Tensor? keyCache, Tensor? valueCache, Tensor? slotMapping, bool isNeox = true)
    {
        var rc = Exports.pn_rotary_and_cache(q.Handle, k.Handle, v.Handle, positions.Handle, cosSinCache.Handle,
            keyCache?.Handle ?? IntPtr.Zero, valueCache?.Handle ?? IntPtr.Zero, slotMapping?.Handle ?? IntPtr.Zero, isNeox ? 1 : 0);
        KeepAlive(q, k, v, positions, cosSinCache);
        GC.KeepAlive(keyCache);
        GC.KeepAlive(valueCache);
        GC.KeepAlive(slotMapping);
        Check(rc, "pn_rotary_and_cache");
    }

    static void KeepAlive(params ReadOnlySpan<Tensor> tensors)
    {
        foreach (var t in tensors) GC.KeepAlive(t);
    }
}
