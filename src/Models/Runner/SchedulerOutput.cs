using Pipeline.Models.Pooling;
using Pipeline.Models.Sampling;

namespace Pipeline.Models.Runner;

/// <summary>
/// One step's plan from the scheduler to the model runner. Only diffs cross this boundary:
/// a request's prompt and sampling params travel once (in <see cref="ScheduledNewReqs"/>), after that
/// only its newly allocated block ids and token counts.
/// </summary>
public sealed class SchedulerOutput
{
    public List<NewRequestData> ScheduledNewReqs { get; } = new();
    public CachedRequestData ScheduledCachedReqs { get; } = new();
    /// <summary>Tokens to compute this step per request id (prefill chunk length, or 1 for a decode).</summary>
    public Dictionary<string, int> NumScheduledTokens { get; } = new();
    public int TotalNumScheduledTokens { get; set; }
    /// <summary>Requests that finished or were aborted since the last step: the runner drops their state.</summary>
    public List<string> FinishedReqIds { get; } = new();
    /// <summary>
    /// Per request id, the indexes (into its <see cref="NewRequestData.MmInputs"/>) of the images whose encoder outputs
    /// this step computes before the forward (vLLM's scheduled_encoder_inputs).
    /// </summary>
    public Dictionary<string, List<int>> ScheduledEncoderInputs { get; } = new();
    /// <summary>Image hashes evicted from the encoder cache: the runner drops their outputs first (vLLM's free_encoder_mm_hashes).</summary>
    public List<string> FreeEncoderMmHashes { get; } = new();
    /// <summary>Requests preempted this step: the runner drops their state; they come back as new (resumed) later.</summary>
    public List<string> PreemptedReqIds { get; } = new();
}

/// <summary>A request the runner has not seen (or sees again after preemption).</summary>
public sealed record NewRequestData(
    string ReqId,
    IReadOnlyList<int> PromptTokenIds,
    SamplingParams SamplingParams,
    /// <summary>Every token the request has so far (prompt plus output produced before a preemption).</summary>
    IReadOnlyList<int> AllTokenIds,
    IReadOnlyList<int> BlockIds,
    int NumComputedTokens,
    int NumOutputTokens = 0,
    /// <summary>Set for a pooling request: the whole prompt runs in this step, with no KV blocks, and is pooled.</summary>
    PoolingItem? Pooling = null,
    /// <summary>The request's state slot for state-space layers (-1 when the model has none).</summary>
    int StateSlot = -1,
    /// <summary>The request's images (their encoder outputs replace the placeholder embeddings); null when none.</summary>
    IReadOnlyList<MultiModalInput>? MmInputs = null,
    /// <summary>The request's LoRA adapter; null for the base model.</summary>
    Lora.LoRARequest? LoraRequest = null,
    /// <summary>An encoder-decoder request's audio features (the encoder runs on them once); null for other models.</summary>
    Multimodal.Audio.ProcessedAudio? Audio = null,
    /// <summary>Prompt positions whose tokens attend to each other bidirectionally (Gemma 3's images, PaliGemma's prompt); null when none.</summary>
    IReadOnlyList<Forward.PositionRange>? BidirectionalRanges = null);

/// <summary>Requests the runner already holds: what changed for each since the last step (parallel lists).</summary>
public sealed class CachedRequestData
{
    public List<string> ReqIds { get; } = new();
    public List<IReadOnlyList<int>> NewBlockIds { get; } = new();
    public List<int> NumComputedTokens { get; } = new();
    public int Count => ReqIds.Count;

    public void Add(string reqId, IReadOnlyList<int> newBlockIds, int numComputedTokens)
    {
        ReqIds.Add(reqId);
        NewBlockIds.Add(newBlockIds);
        NumComputedTokens.Add(numComputedTokens);
    }
}
