using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>The position-wise part of a decoder block: a dense MLP or a mixture of experts, [T, hidden] → [T, hidden].</summary>
public interface IFeedForward : IDisposable
{
    Tensor Forward(Tensor x);
}
