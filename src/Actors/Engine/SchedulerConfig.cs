namespace Pipeline.Actors.Engine;

public enum SchedulingPolicy
{
    /// <summary>First come, first served; preemption takes the most recently admitted running request.</summary>
    Fcfs,
    /// <summary>Lower <see cref="Request.Priority"/> first, then earlier arrival; preemption takes the largest (priority, arrival).</summary>
    Priority,
}

/// <summary>Scheduler limits (vLLM's SchedulerConfig plus the cache settings the scheduler needs).</summary>
public sealed record SchedulerConfig
{
    /// <summary>Most requests running at once.</summary>
    public int MaxNumSeqs { get; init; } = 256;
    /// <summary>Token budget of one step (prefill chunks plus decodes).</summary>
    public int MaxNumBatchedTokens { get; init; } = 8192;
    /// <summary>Prompt plus output tokens may not exceed this.</summary>
    public int MaxModelLen { get; init; } = 4096;
    public int BlockSize { get; init; } = 16;
    public int NumGpuBlocks { get; init; } = 1024;
    public bool EnablePrefixCaching { get; init; } = true;
    public bool EnableChunkedPrefill { get; init; } = true;
    public SchedulingPolicy Policy { get; init; } = SchedulingPolicy.Fcfs;
    /// <summary>When set (&gt; 0), a prefill chunk is at most this many tokens, so long prompts don't starve others.</summary>
    public int? LongPrefillTokenThreshold { get; init; }
    /// <summary>
    /// vLLM's async_scheduling: the next step is planned while the current one runs (two steps in flight). A request's
    /// next decode is scheduled before the token it follows is known.
    /// </summary>
    public bool AsyncScheduling { get; init; }
    /// <summary>
    /// State slots for a model with state-space layers (0: it has none): each running request holds one. Such models
    /// run without prefix caching.
    /// </summary>
    public int NumStateSlots { get; init; }
    /// <summary>False for a model of state-space layers only: requests then hold no KV blocks.</summary>
    public bool HasAttention { get; init; } = true;
    /// <summary>Set (in tokens) when every attention layer slides: blocks wholly outside the window are freed.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>
    /// Image embedding rows the encoder may compute in one step (vLLM's max_num_encoder_input_tokens); by default
    /// max(max_num_batched_tokens, max_model_len), so any image a prompt can hold fits.
    /// </summary>
    public int? MaxNumEncoderInputTokens { get; init; }
    /// <summary>Image embedding rows the runner's encoder cache holds (vLLM's encoder_cache_size); same default.</summary>
    public int? EncoderCacheSize { get; init; }
    public int EncoderComputeBudget => MaxNumEncoderInputTokens ?? Math.Max(MaxNumBatchedTokens, MaxModelLen);
    public int EncoderCacheTokens => EncoderCacheSize ?? Math.Max(MaxNumBatchedTokens, MaxModelLen);
    /// <summary>--max-loras when LoRA is enabled: the most distinct adapters one step may hold (null: no LoRA).</summary>
    public int? MaxLoras { get; init; }
    /// <summary>Steps the engine core keeps in flight: 2 with <see cref="AsyncScheduling"/>, else 1.</summary>
    public int MaxInFlightSteps => AsyncScheduling ? 2 : 1;

    public void Validate()
    {
        if (MaxNumSeqs < 1) throw new ArgumentException($"max_num_seqs must be at least 1, got {MaxNumSeqs}");
        if (MaxNumBatchedTokens < 1) throw new ArgumentException($"max_num_batched_tokens must be at least 1, got {MaxNumBatchedTokens}");
        if (MaxModelLen < 2) throw new ArgumentException($"max_model_len must be at least 2, got {MaxModelLen}");
        if (BlockSize < 1) throw new ArgumentException($"block_size must be at least 1, got {BlockSize}");
        if (NumGpuBlocks < 1) throw new ArgumentException($"num_gpu_blocks must be at least 1, got {NumGpuBlocks}");
        if ((long)NumGpuBlocks * BlockSize < MaxModelLen)
            throw new ArgumentException($"the KV cache ({NumGpuBlocks} blocks of {BlockSize} tokens) cannot hold one sequence of max_model_len={MaxModelLen} tokens");
        if (!EnableChunkedPrefill && MaxNumBatchedTokens < MaxModelLen)
            throw new ArgumentException($"without chunked prefill max_num_batched_tokens ({MaxNumBatchedTokens}) must be at least max_model_len ({MaxModelLen})");
        if (NumStateSlots < 0) throw new ArgumentException($"num_state_slots must be non-negative, got {NumStateSlots}");
        if (!HasAttention && NumStateSlots == 0) throw new ArgumentException("a model without attention layers needs state slots for its state-space layers");
        if (NumStateSlots > 0 && EnablePrefixCaching)
            throw new ArgumentException("prefix caching is not supported for models with state-space layers: run with --no-enable-prefix-caching");
        if (SlidingWindow is < 1) throw new ArgumentException($"sliding_window must be positive, got {SlidingWindow}");
        if (MaxNumEncoderInputTokens is < 1) throw new ArgumentException($"max_num_encoder_input_tokens must be at least 1, got {MaxNumEncoderInputTokens}");
        if (EncoderCacheSize is < 1) throw new ArgumentException($"encoder_cache_size must be at least 1, got {EncoderCacheSize}");
        if (MaxLoras is < 1) throw new ArgumentException($"max_loras must be at least 1, got {MaxLoras}");
        if (LongPrefillTokenThreshold is < 0) throw new ArgumentException($"long_prefill_token_threshold must be non-negative, got {LongPrefillTokenThreshold}");
    }
}
