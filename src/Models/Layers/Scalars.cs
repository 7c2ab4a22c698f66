using System.Collections.Concurrent;
using TorchSharp;

namespace Pipeline.Models.Layers;

/// <summary>
/// Long-lived TorchSharp Scalars for the constants tensor math uses. A Scalar made implicitly from a double
/// (`tensor * 0.5`) is freed by its finalizer, which can run while the native call still reads it — a
/// use-after-free seen on CUDA under allocation pressure. Scalars from here are never freed.
/// </summary>
public static class Scalars
{
    const int MaxCached = 4096;
    static readonly ConcurrentDictionary<double, Scalar> Cache = new();

    public static readonly Scalar NegInf = Of(double.NegativeInfinity);
    public static readonly Scalar One = Of(1.0);
    /// <summary>1 as an integer Scalar, for integer tensors (counts, indices).</summary>
    public static readonly Scalar OneInt = 1L.ToScalar();

    public static Scalar Of(double value)
    {
        if (Cache.TryGetValue(value, out var s)) return s;
        if (Cache.Count >= MaxCached) throw new InvalidOperationException("too many distinct cached scalars; use a scoped Scalar for request-specific values");
        return Cache.GetOrAdd(value, v => v.ToScalar());
    }
}
