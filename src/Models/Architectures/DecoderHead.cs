namespace Pipeline.Models.Architectures;

/// <summary>What a decoder pooling model puts on top of its final hidden states.</summary>
public enum DecoderHead
{
    /// <summary>Hidden states only (LlamaModel, Qwen3Model, a causal LM converted with --convert embed|reward).</summary>
    None,
    /// <summary>'score' (no bias) on the pooled row: ...ForSequenceClassification, --convert classify.</summary>
    SequenceClassifier,
    /// <summary>
    /// Qwen2ForRewardModel / Qwen2ForProcessRewardModel: 'score' = Linear(hidden, hidden) + ReLU + Linear(hidden, labels),
    /// both with bias, on every token; the model's outputs are those per-token scores.
    /// </summary>
    TokenReward,
}
