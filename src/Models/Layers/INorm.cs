using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>A normalisation over the last dimension (RMSNorm, LayerNorm), with the residual add that precedes it in a block.</summary>
public interface INorm : IDisposable
{
    Tensor Forward(Tensor x);
    /// <summary>residual + x, then the norm of the sum; returns (norm, sum). The sum may be computed in place.</summary>
    (Tensor Normed, Tensor Sum) AddAndNorm(Tensor x, Tensor residual);
}
