using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;
using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>What the model runner keeps per request between steps (vLLM's CachedRequestState).</summary>
public sealed class CachedRequestState : IDisposable
{
    public required string ReqId { get; init; }
    public required IReadOnlyList<int> PromptTokenIds { get; init; }
    public required SamplingParams SamplingParams { get; init; }
    /// <summary>Prompt then output tokens; the runner appends each token it samples.</summary>
    public required List<int> TokenIds { get; init; }
    public required List<int> BlockIds { get; init; }
    /// <summary>The request's state slot for state-space layers (-1 when the model has none).</summary>
    public int StateSlot { get; init; } = -1;
    public int NumComputedTokens { get; set; }
    /// <summary>The request's LoRA adapter; null for the base model.</summary>
    public Lora.LoRARequest? LoraRequest { get; init; }
    public Generator? Generator { get; init; }
    public IReadOnlyCollection<int> StopIds { get; init; } = [];
    public IReadOnlyList<int[]>? BadWordsTokenIds { get; init; }
    /// <summary>The grammar position of a request with structured outputs; advanced by every token sampled.</summary>
    /// <summary>Null until a constraint with StructuredOutputsParams.StartAfterTokenIds has seen them.</summary>
    public GrammarMatcher? Matcher { get; set; }

    /// <summary>The request's images; their encoder outputs live in the runner's <see cref="EncoderCache"/>, by hash.</summary>
    public IReadOnlyList<MultiModalInput> MmInputs { get; init; } = [];
    /// <summary>The prompt's M-RoPE positions and delta, for models that rotate by them (vLLM's mrope_positions).</summary>
    public Forward.MRopePositions? MRope { get; init; }
    /// <summary>Prompt positions that attend to each other bidirectionally in prefill (mm prefix-LM models); null when none.</summary>
    public IReadOnlyList<Forward.PositionRange>? BidirectionalRanges { get; init; }

    /// <summary>An encoder-decoder request's audio, and its encoder cache once computed (kept until the request leaves).</summary>
    public Multimodal.Audio.ProcessedAudio? Audio { get; init; }
    public Architectures.CrossAttentionCache? Encoder { get; set; }

    public int NumOutputTokens => TokenIds.Count - PromptTokenIds.Count;
    public IReadOnlyList<int> OutputTokenIds => TokenIds.GetRange(PromptTokenIds.Count, NumOutputTokens);

    public void Dispose()
    {
        Generator?.Dispose();
        Encoder?.Dispose();
        Encoder = null;
    }
}
