using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>
/// A checkpoint whose names lack a prefix the model asks for (a base `LlamaModel` saves `layers.0...` where the
/// causal LM reads `model.layers.0...`): names under <paramref name="prefix"/> are looked up without it.
/// </summary>
public sealed class PrefixedWeightSource(IWeightSource inner, string prefix) : IWeightSource
{
    /// <summary>
    /// <paramref name="source"/> as is when it holds <paramref name="probe"/> (a name under <paramref name="prefix"/>),
    /// else read without the prefix: GPT-2 and BLOOM checkpoints were saved from the base model (`h.0...`, not
    /// `transformer.h.0...`), as vLLM's loaders allow.
    /// </summary>
    public static IWeightSource WhenSavedWithout(IWeightSource source, string prefix, string probe) =>
        !source.Contains(probe) && source.Contains(probe[prefix.Length..]) ? new PrefixedWeightSource(source, prefix) : source;

    string Map(string name) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    public bool Contains(string name) => inner.Contains(Map(name));

    public Tensor Load(string name, long[] shape, ScalarType dtype, Device device, WeightInit init = WeightInit.Normal) =>
        inner.Load(Map(name), shape, dtype, device, init);

    public IEnumerable<string> Unused() => inner.Unused();

    public void Dispose() => inner.Dispose();
}
