using Pipeline.Models.Forward;
using Pipeline.Models.Multimodal;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A model whose decoder rotates by 3-D positions (vLLM's SupportsMRoPE): the runner asks it once per request for the
/// prompt's positions, keeps them with the request and lays them out in the input batch as 3 x tokens.
/// </summary>
public interface ISupportsMRope
{
    /// <summary>vLLM's get_mrope_input_positions: the prompt's positions given where each image's placeholders start.</summary>
    MRopePositions GetMRopeInputPositions(int numPromptTokens, IReadOnlyList<(int Offset, ProcessedImage Image)> images);
}
