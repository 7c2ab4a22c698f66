using Pipeline.Actors.Engine;

namespace Pipeline.Host.Cli;

/// <summary>Options every model-loading command shares, named as in vLLM.</summary>
public static class CommonOptions
{
    /// <summary>Model plugins (out-of-tree architectures), loaded by <see cref="LoadPlugins"/> before the command runs.</summary>
    public static readonly OptionSpec[] Plugins =
    [
        new("model-plugin", $"model plugin assembly registering architectures (repeatable); ${Pipeline.Models.Registry.ModelPlugins.EnvironmentVariable} adds more", Repeats: true, Metavar: "PATH.dll"),
        new("model-plugin-dir", "folder of model plugins: DIR/*.dll and DIR/NAME/NAME.dll", Metavar: "DIR"),
    ];

    public static readonly OptionSpec[] Model =
    [
        new("revision", "model revision (branch, tag or commit): from the cache, else downloaded"),
        new("tokenizer", "tokenizer directory, when it is not the model directory"),
        new("skip-tokenizer-init", "do not load a tokenizer; prompts must be token ids", IsFlag: true),
        new("dtype", "weight and activation dtype: auto, float32, float16, bfloat16", "auto"),
        new("device", "cpu, cuda or cuda:N (auto: cuda when available)", "auto"),
        new("libtorch", "libtorch folder for CUDA (else $PIPELINE_LIBTORCH, else python3's torch)"),
        new("load-format", "auto/safetensors (read weights) or dummy (random weights, config.json only)", "auto"),
        new("hf-overrides", "JSON object merged into config.json before use", Metavar: "JSON"),
        new("generation-config", "auto: apply generation_config.json's sampling defaults; vllm: ignore them", "auto"),
        new("max-model-len", "longest prompt + output in tokens (default: derived from config.json)"),
        new("seed", "random seed: sampling of every request (prompt i uses seed + i) and dummy weights", "0"),
        .. HubCliOptions.Options,
        .. Plugins,
    ];

    /// <summary>Loads --model-plugin, --model-plugin-dir and PIPELINE_MODEL_PLUGINS when the command has these options.</summary>
    public static void LoadPlugins(CommandSpec spec, ParsedArgs a)
    {
        if (!spec.Options.Any(o => o.Name == "model-plugin")) return;
        var paths = new List<string>(a.GetAll("model-plugin"));
        if (a.Get("model-plugin-dir") is string dir) paths.Add(dir);
        paths.AddRange(Pipeline.Models.Registry.ModelPlugins.FromEnvironment());
        Pipeline.Models.Registry.ModelPlugins.Load(paths);
    }

    public static readonly OptionSpec[] Engine =
    [
        new("block-size", "tokens per KV cache block", "16"),
        new("max-num-seqs", "most sequences running at once", "256"),
        new("max-num-batched-tokens", "token budget of one engine step (default: 2048, at least max-num-seqs)"),
        new("gpu-memory-utilization", "fraction of GPU memory for weights, activations and KV cache", "0.9"),
        new("kv-cache-memory", "KV cache size in bytes (CPU default 4 GiB; on CUDA overrides --gpu-memory-utilization)", Metavar: "BYTES"),
        new("enable-prefix-caching", "reuse KV blocks of shared prompt prefixes (--no-enable-prefix-caching to turn off)", "true", IsFlag: true),
        new("enable-chunked-prefill", "split long prompts across steps (--no-enable-chunked-prefill to turn off)", "true", IsFlag: true),
        new("scheduling-policy", "fcfs or priority", "fcfs"),
        new("enforce-eager", "never replay decode steps from CUDA graphs (CUDA with libpipeline_native only)", IsFlag: true),
        new("async-scheduling", "plan the next engine step while the current one runs (two steps in flight)", IsFlag: true),
    ];

    public static EngineArgs ToEngineArgs(ParsedArgs a, string model) => new()
    {
        Model = model,
        Tokenizer = a.Get("tokenizer"),
        Revision = a.Get("revision"),
        SkipTokenizerInit = a.Flag("skip-tokenizer-init"),
        Dtype = a.Get("dtype")!,
        Device = a.Get("device")!,
        LibTorch = a.Get("libtorch"),
        LoadFormat = a.Get("load-format")!,
        HfOverrides = a.Get("hf-overrides"),
        GenerationConfig = a.Choice("generation-config", "auto", "vllm"),
        MaxModelLen = a.GetInt("max-model-len"),
        Seed = a.GetLong("seed") ?? 0,
        BlockSize = a.Int("block-size"),
        MaxNumSeqs = a.Int("max-num-seqs"),
        MaxNumBatchedTokens = a.GetInt("max-num-batched-tokens"),
        GpuMemoryUtilization = a.GetFloat("gpu-memory-utilization") ?? 0.9,
        KvCacheMemoryBytes = a.GetLong("kv-cache-memory"),
        EnablePrefixCaching = a.Flag("enable-prefix-caching"),
        EnableChunkedPrefill = a.Flag("enable-chunked-prefill"),
        SchedulingPolicy = a.Choice("scheduling-policy", "fcfs", "priority"),
        EnforceEager = a.Flag("enforce-eager"),
        // vLLM's VLLM_ALLOW_LONG_MAX_MODEL_LEN: a --max-model-len beyond what config.json supports, at the user's risk.
        AllowLongMaxModelLen = Environment.GetEnvironmentVariable("PIPELINE_ALLOW_LONG_MAX_MODEL_LEN") is "1" or "true",
        AsyncScheduling = a.Flag("async-scheduling"),
    };
}
