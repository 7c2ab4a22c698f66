using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>
/// A checkpoint whose names lack a prefix the model asks for (a base `LlamaModel` saves `layers.0...` where the
/// causal LM reads `model.layers.0...`): names under <paramref name="prefix"/> are looked up without it.
/// </summary>
public sealed class PrefixedWeightSource(IWeightSource inner, string prefix) : IWeightSource
{
    string Map(string name) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    public bool Contains(string name) => inner.Contains(Map(name));

    public Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal) =>
        inner.Load(Map(name), shape, dtype, device, init);

    public IEnumerable<string> Unused() => inner.Unused();

    public void Dispose() => inner.Dispose();
}
