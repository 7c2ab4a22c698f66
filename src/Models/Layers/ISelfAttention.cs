using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// The attention part of a decoder block, from the normed hidden states to the output projection: Llama-style
/// <see cref="SelfAttention"/> or DeepSeek's <see cref="MultiHeadLatentAttention"/>.
/// </summary>
public interface ISelfAttention : IDisposable
{
    Attention Attn { get; }
    Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx);
}
