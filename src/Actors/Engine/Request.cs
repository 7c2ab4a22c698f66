using Pipeline.Models.Lora;
using Pipeline.Models.Pooling;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Engine;

/// <summary>
/// One generation request as the engine core sees it (vLLM's Request): the prompt, what has been generated,
/// how many tokens already have their KV computed, and its <see cref="RequestStatus"/>.
/// Owned and mutated by the <see cref="Scheduler"/>.
/// </summary>
public sealed class Request
{
    readonly List<int> _allTokenIds;
    readonly List<int> _outputTokenIds = new();

    public Request(
        string requestId,
        IReadOnlyList<int> promptTokenIds,
        SamplingParams samplingParams,
        IReadOnlyList<int>? eosTokenIds = null,
        double? arrivalTime = null,
        int priority = 0,
        string? cacheSalt = null,
        int? loraId = null,
        IReadOnlyList<MultiModalFeature>? multiModalFeatures = null,
        LoRARequest? loraRequest = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        ArgumentNullException.ThrowIfNull(samplingParams);
        RequestId = requestId;
        PromptTokenIds = promptTokenIds.ToArray();
        SamplingParams = samplingParams;
        EosTokenIds = eosTokenIds?.ToArray() ?? Array.Empty<int>();
        ArrivalTime = arrivalTime ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Priority = priority;
        CacheSalt = cacheSalt;
        LoraRequest = loraRequest;
        LoraId = loraRequest?.LoraIntId ?? loraId;
        MultiModalFeatures = multiModalFeatures ?? Array.Empty<MultiModalFeature>();
        _allTokenIds = new List<int>(PromptTokenIds.Count + (samplingParams.MaxTokens ?? 16));
        _allTokenIds.AddRange(PromptTokenIds);
    }

    public string RequestId { get; }
    public IReadOnlyList<int> PromptTokenIds { get; }
    public SamplingParams SamplingParams { get; }
    /// <summary>Token ids that end generation (unless ignore_eos); may be several (generation_config).</summary>
    public IReadOnlyList<int> EosTokenIds { get; }
    /// <summary>Unix time in seconds.</summary>
    public double ArrivalTime { get; }
    /// <summary>Lower is scheduled first under the priority policy.</summary>
    public int Priority { get; }
    public string? CacheSalt { get; }
    /// <summary>The adapter's id: part of every block hash, so adapters never share cached KV.</summary>
    public int? LoraId { get; }
    /// <summary>The LoRA adapter the request runs with (vLLM's lora_request); null for the base model.</summary>
    public LoRARequest? LoraRequest { get; }
    public IReadOnlyList<MultiModalFeature> MultiModalFeatures { get; }
    /// <summary>
    /// Prompt positions whose tokens attend to each other bidirectionally in prefill (mm prefix-LM models: Gemma 3's
    /// image tokens, PaliGemma's prompt). The scheduler never ends a prefill chunk inside one, and the prefix cache keys
    /// every block a range overlaps by the whole range's content.
    /// </summary>
    public IReadOnlyList<Pipeline.Models.Forward.PositionRange> BidirectionalRanges { get; init; } = [];
    /// <summary>Each bidirectional range's content hash (its tokens and images), filled by the <see cref="BlockHasher"/>.</summary>
    internal string[]? BidirectionalRangeKeys { get; set; }
    /// <summary>Set for a pooling request (vLLM's pooling_params): it needs no KV blocks and finishes in the step that computes it.</summary>
    public PoolingItem? Pooling { get; private init; }
    public bool IsPooling => Pooling != null;

    /// <summary>Pooling requests carry sampling params only because every request does; nothing reads them.</summary>
    static readonly SamplingParams UnusedSamplingParams = new() { MaxTokens = 1 };

    /// <summary>A pooling request (embed, classify, score, reward) over <paramref name="item"/>'s tokens.</summary>
    public static Request ForPooling(string requestId, PoolingItem item, double? arrivalTime = null, int priority = 0) =>
        new(requestId, item.Input.TokenIds, UnusedSamplingParams, arrivalTime: arrivalTime, priority: priority) { Pooling = item };

    public IReadOnlyList<int> OutputTokenIds => _outputTokenIds;
    /// <summary>Prompt followed by the output tokens.</summary>
    public IReadOnlyList<int> AllTokenIds => _allTokenIds;
    public int NumPromptTokens => PromptTokenIds.Count;
    public int NumOutputTokens => _outputTokenIds.Count;
    public int NumTokens => _allTokenIds.Count;

    /// <summary>Tokens whose KV is in the cache (computed by the model or hit in the prefix cache).</summary>
    public int NumComputedTokens { get; internal set; }
    /// <summary>Prompt tokens served from the prefix cache when the request was (last) scheduled.</summary>
    public int NumCachedTokens { get; internal set; }
    public RequestStatus Status { get; internal set; } = RequestStatus.Waiting;
    /// <summary>The stop_token_ids entry that ended the request, if one did (null for EOS and length).</summary>
    public int? StopReason { get; internal set; }
    public int NumPreemptions { get; internal set; }

    /// <summary>
    /// Async scheduling: tokens that steps still in flight will sample for this request (vLLM's
    /// num_output_placeholders). Their values are not known yet; the model runner supplies them itself.
    /// </summary>
    public int NumOutputPlaceholders { get; internal set; }
    /// <summary>Async scheduling: tokens scheduled in steps that are not folded back yet (not in <see cref="NumComputedTokens"/>).</summary>
    public int NumInFlightTokens { get; internal set; }
    /// <summary>Async scheduling: outputs of steps scheduled before this one are stale (the request was preempted since).</summary>
    internal long FirstValidStep { get; set; }

    public bool IsFinished => Status.IsFinished();
    public FinishReason? FinishReason => Status.ToFinishReason();

    /// <summary>Chained hashes of this request's full blocks, filled lazily by the <see cref="KVCacheManager"/>.</summary>
    internal List<BlockHash> BlockHashes { get; } = new();
    /// <summary>Block size <see cref="BlockHashes"/> were computed for.</summary>
    internal int BlockHashesBlockSize { get; set; }
    /// <summary>Admission order; breaks ties of equal (priority, arrival time).</summary>
    internal long Sequence { get; set; }

    /// <summary>Output tokens the request started with (<see cref="ResumeFrom"/>); 0 for a fresh request.</summary>
    public int NumResumedOutputTokens { get; private set; }

    /// <summary>
    /// Makes this fresh request continue a run lost elsewhere (a worker node that died): <paramref name="outputTokenIds"/>
    /// are the tokens already delivered, recomputed with the prompt as a preempted request's are, so greedy decoding
    /// continues exactly where it stopped and max_tokens/min_tokens count them.
    /// </summary>
    public void ResumeFrom(IReadOnlyList<int> outputTokenIds)
    {
        if (Status != RequestStatus.Waiting || NumOutputTokens > 0 || NumComputedTokens > 0)
            throw new InvalidOperationException($"Request {RequestId} is not fresh; only a new request can resume a lost run.");
        foreach (var t in outputTokenIds) AppendOutputToken(t);
        NumResumedOutputTokens = outputTokenIds.Count;
    }

    internal void AppendOutputToken(int tokenId)
    {
        _outputTokenIds.Add(tokenId);
        _allTokenIds.Add(tokenId);
    }

    /// <summary>A copy with another id and sampling params (parallel-sampling children).</summary>
    public Request CloneAs(string requestId, SamplingParams samplingParams) =>
        new(requestId, PromptTokenIds, samplingParams, EosTokenIds, ArrivalTime, Priority, CacheSalt, LoraId, MultiModalFeatures, LoraRequest);

    public override string ToString() => $"Request({RequestId}, {Status}, prompt={NumPromptTokens}, out={NumOutputTokens}, computed={NumComputedTokens})";
}
