using Pipeline.Models.Multimodal;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>A model that takes images: each processed image becomes the embedding rows of its placeholder tokens.</summary>
public interface IMultiModalModel
{
    /// <summary>The rows [placeholder tokens, hidden] that replace the image's placeholder embeddings, on the model's device.</summary>
    Tensor EncodeImage(ProcessedImage image);
}
