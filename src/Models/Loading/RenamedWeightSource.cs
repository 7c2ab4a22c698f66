using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>Weights looked up under other names (vLLM's hf_to_vllm_mapper): a wrapper's language model read as a plain causal LM.</summary>
public sealed class RenamedWeightSource(IWeightSource inner, Func<string, string> map) : IWeightSource
{
    public bool Contains(string name) => inner.Contains(map(name));

    public Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal) =>
        inner.Load(map(name), shape, dtype, device, init);

    public IEnumerable<string> Unused() => inner.Unused();

    /// <summary>The inner source is owned by whoever made it.</summary>
    public void Dispose() { }
}
