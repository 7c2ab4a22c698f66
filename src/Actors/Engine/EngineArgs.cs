namespace Pipeline.Actors.Engine;

/// <summary>Everything needed to build an engine for a model, named after vLLM's engine arguments.</summary>
public sealed record EngineArgs
{
    public required string Model { get; init; }
    public string? Tokenizer { get; init; }
    public string? Revision { get; init; }
    public bool SkipTokenizerInit { get; init; }
    public string Dtype { get; init; } = "auto";
    public string Device { get; init; } = "auto";
    public string? LibTorch { get; init; }
    public string LoadFormat { get; init; } = "auto";
    public string? HfOverrides { get; init; }
    /// <summary>auto: apply generation_config.json's sampling defaults; vllm: ignore them.</summary>
    public string GenerationConfig { get; init; } = "auto";
    public int? MaxModelLen { get; init; }
    /// <summary>Allow --max-model-len beyond what config.json supports (vLLM's VLLM_ALLOW_LONG_MAX_MODEL_LEN).</summary>
    public bool AllowLongMaxModelLen { get; init; }
    public int BlockSize { get; init; } = 16;
    public int MaxNumSeqs { get; init; } = 256;
    public int? MaxNumBatchedTokens { get; init; }
    /// <summary>Image embedding rows encoded per step (vLLM's max_num_encoder_input_tokens; default max(max_num_batched_tokens, max_model_len)).</summary>
    public int? MaxNumEncoderInputTokens { get; init; }
    /// <summary>Image embedding rows the encoder cache holds (vLLM's encoder_cache_size; same default).</summary>
    public int? EncoderCacheSize { get; init; }
    public double GpuMemoryUtilization { get; init; } = 0.9;
    public long? KvCacheMemoryBytes { get; init; }
    /// <summary>Overrides the computed number of KV blocks (tests and benchmarks).</summary>
    public int? NumGpuBlocksOverride { get; init; }
    public bool EnablePrefixCaching { get; init; } = true;
    /// <summary>Never replay decode steps from CUDA graphs (vLLM's --enforce-eager).</summary>
    public bool EnforceEager { get; init; }
    public bool EnableChunkedPrefill { get; init; } = true;
    public string SchedulingPolicy { get; init; } = "fcfs";
    /// <summary>Plan the next step while the current one runs (two steps in flight); see <see cref="SchedulerConfig.AsyncScheduling"/>.</summary>
    public bool AsyncScheduling { get; init; }
    public long Seed { get; init; }
    /// <summary>
    /// Model plugin assemblies or plugin folders to load before the model (see Pipeline.Models.Registry.IModelPlugin);
    /// PIPELINE_MODEL_PLUGINS adds more.
    /// </summary>
    public IReadOnlyList<string> ModelPlugins { get; init; } = [];
    /// <summary>Serve LoRA adapters on the model (vLLM's --enable-lora); the limits below apply then.</summary>
    public bool EnableLora { get; init; }
    /// <summary>Distinct adapters one step may mix (GPU slots).</summary>
    public int MaxLoras { get; init; } = 1;
    public int MaxLoraRank { get; init; } = 16;
    /// <summary>Adapters kept in CPU memory; --max-loras when unset.</summary>
    public int? MaxCpuLoras { get; init; }

    public Pipeline.Models.Lora.LoRAConfig? LoraConfig => EnableLora ? new(MaxLoras, MaxLoraRank, MaxCpuLoras) : null;
}
