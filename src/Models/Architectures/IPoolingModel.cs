using Pipeline.Models.Config;
using Pipeline.Models.Pooling;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>One input of a pooling model: token ids and, for BERT-style pair inputs, optional token type (segment) ids.</summary>
public sealed record PoolingInput(int[] TokenIds, int[]? TokenTypeIds = null);

/// <summary>
/// A model that turns token sequences into hidden states (embed, reward) and, when it has a classification head,
/// into logits (classify, score). No sampling, no KV cache kept between calls.
/// </summary>
public interface IPoolingModel : IDisposable
{
    ModelConfig Config { get; }
    ScalarType DType { get; }
    Device Device { get; }
    /// <summary>Bidirectional encoders (BERT family) pool CLS by default; decoders pool the last token.</summary>
    bool IsEncoder { get; }
    /// <summary>The longest input the model accepts.</summary>
    int MaxInputLength { get; }
    /// <summary>Number of classifier outputs, or 0 when the model has no classification head.</summary>
    int NumLabels { get; }
    /// <summary>How the classification head picks its token (CLS for BERT-style heads, LAST for decoders).</summary>
    PoolingType ClassifierPooling { get; }
    /// <summary>The reward task's default pooling: ALL, or STEP for process reward models.</summary>
    PoolingType RewardPooling { get; }
    /// <summary>Width of the rows <see cref="HiddenStates"/> returns: hidden_size, or num_labels when a head runs on every token.</summary>
    int OutputSize { get; }

    /// <summary>The embed task's pooling when the model fixes one (vLLM's default_pooling_type: MEAN for GritLM); null: by <see cref="IsEncoder"/>.</summary>
    PoolingType? DefaultEmbedPooling => null;
    /// <summary>
    /// Leading tokens of an input that MEAN pooling for embed leaves out (GritLM's instruction); 0 for other models.
    /// </summary>
    int InstructionLength(int[] tokenIds) => 0;

    /// <summary>Final hidden states [T, OutputSize] of a flat batch: all inputs' tokens concatenated in order.</summary>
    Tensor HiddenStates(IReadOnlyList<PoolingInput> inputs);

    /// <summary>Classification head on pooled hidden rows [N, hidden]: float32 logits [N, NumLabels].</summary>
    Tensor ClassifierHead(Tensor pooled);
}
