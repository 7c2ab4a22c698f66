using Pipeline.Models.Multimodal.Audio;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A decoder-only model that takes audio clips as it takes images (Qwen2-Audio): each clip's encoder rows replace the
/// embeddings of its placeholder tokens, scheduled and cached like an image's.
/// </summary>
public interface IMultiModalAudioModel
{
    /// <summary>The rows [placeholder tokens, hidden] that replace the clip's placeholder embeddings, on the model's device.</summary>
    Tensor EncodeAudio(ProcessedAudio audio);
}
