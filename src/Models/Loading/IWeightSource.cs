using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>Where a model's parameters come from: safetensors files, or random values (--load-format dummy).</summary>
public interface IWeightSource : IDisposable
{
    bool Contains(string name);
    Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal);
    /// <summary>Names present in the source that were never loaded (unexpected weights).</summary>
    IEnumerable<string> Unused();
}

public enum WeightInit { Normal, Ones, Zeros }

/// <summary>Safetensors-backed weights; remembers which names were used so leftovers can be reported.</summary>
public sealed class SafetensorsWeightSource(WeightStore store) : IWeightSource
{
    readonly HashSet<string> _used = new();

    public bool Contains(string name) => store.Contains(name);

    public Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal)
    {
        _used.Add(name);
        return store.Load(name, shape, dtype, device);
    }

    public IEnumerable<string> Unused() => store.Names.Where(n => !_used.Contains(n));

    public void Dispose() => store.Dispose();
}

/// <summary>Random weights for --load-format dummy: the real architecture and shapes, no files.</summary>
public sealed class DummyWeightSource(long seed = 0) : IWeightSource
{
    readonly Generator _gen = new Generator((ulong)seed);

    public bool Contains(string name) => true;

    public Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal)
    {
        switch (init)
        {
            case WeightInit.Ones: return torch.ones(shape, dtype, device);
            case WeightInit.Zeros: return torch.zeros(shape, dtype, device);
            default:
                if (device.type == DeviceType.CPU) return torch.randn(shape, dtype, device, generator: _gen).mul_(0.02);
                // Generators are per device; draw on the device with its default generator.
                return torch.randn(shape, dtype, device).mul_(0.02);
        }
    }

    public IEnumerable<string> Unused() => [];

    public void Dispose() => _gen.Dispose();
}
