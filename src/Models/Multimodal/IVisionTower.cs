using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// A vision transformer as LLaVA-style models use it: pixel_values [N, 3, S, S] to the hidden states of the layer the
/// model reads its features from, [N, tokens, hidden] (CLIP: with the CLS row first; SigLIP: patches only).
/// </summary>
public interface IVisionTower : IDisposable
{
    Tensor Forward(Tensor pixelValues);
}

/// <summary>A multi-modal projector: vision features [N, tokens, vision hidden] to rows of the language model's width.</summary>
public interface IVisionProjector : IDisposable
{
    Tensor Forward(Tensor features);
}
