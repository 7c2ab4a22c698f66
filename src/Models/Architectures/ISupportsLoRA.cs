using Pipeline.Models.Loading;

namespace Pipeline.Models.Architectures;

/// <summary>A model whose projections LoRA adapters can target (vLLM's SupportsLoRA).</summary>
public interface ISupportsLoRA
{
    /// <summary>Every projection an adapter may adapt, by module name, with its packed slices.</summary>
    IReadOnlyList<LoRATarget> LoRATargets { get; }
}
