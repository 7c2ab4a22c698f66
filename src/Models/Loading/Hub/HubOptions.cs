namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// Where and how models are downloaded, as huggingface_hub and vLLM read them from the environment: HF_ENDPOINT,
/// HF_TOKEN, HF_HUB_OFFLINE, the hub cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub) or --download-dir,
/// and VLLM_USE_MODELSCOPE with MODELSCOPE_ENDPOINT / MODELSCOPE_DOMAIN, MODELSCOPE_API_TOKEN and MODELSCOPE_CACHE.
/// </summary>
public sealed record HubOptions
{
    public const string DefaultEndpoint = "https://huggingface.co";
    public const string DefaultModelScopeEndpoint = "https://www.modelscope.cn";

    /// <summary>The Hub (or a mirror) to download from.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;
    public string? Token { get; init; }
    /// <summary>No request is made: only what the cache holds is used (HF_HUB_OFFLINE=1).</summary>
    public bool Offline { get; init; }
    /// <summary>The cache folder downloads go to (--download-dir, else the hub cache).</summary>
    public required string CacheDir { get; init; }
    /// <summary>Files fetched at once.</summary>
    public int MaxWorkers { get; init; } = 8;
    /// <summary>Download from ModelScope instead of the Hugging Face Hub (VLLM_USE_MODELSCOPE=True).</summary>
    public bool UseModelScope { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public static bool IsTrue(string? v) => v is not null && v.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    /// <summary>The options the environment gives, with --hf-token and --download-dir on top.</summary>
    public static HubOptions FromEnvironment(string? token = null, string? downloadDir = null)
    {
        bool modelScope = IsTrue(Environment.GetEnvironmentVariable("VLLM_USE_MODELSCOPE"));
        if (modelScope)
        {
            var domain = Environment.GetEnvironmentVariable("MODELSCOPE_DOMAIN");
            var endpoint = Environment.GetEnvironmentVariable("MODELSCOPE_ENDPOINT")
                ?? (string.IsNullOrEmpty(domain) ? DefaultModelScopeEndpoint : domain.Contains("://") ? domain : "https://" + domain);
            return new HubOptions
            {
                UseModelScope = true,
                Endpoint = endpoint.TrimEnd('/'),
                Token = token ?? NonEmpty(Environment.GetEnvironmentVariable("MODELSCOPE_API_TOKEN")),
                Offline = IsTrue(Environment.GetEnvironmentVariable("HF_HUB_OFFLINE")) || IsTrue(Environment.GetEnvironmentVariable("MODELSCOPE_OFFLINE")),
                CacheDir = downloadDir ?? ModelScopeCacheDir(),
            };
        }
        return new HubOptions
        {
            Endpoint = (NonEmpty(Environment.GetEnvironmentVariable("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/'),
            Token = token ?? NonEmpty(Environment.GetEnvironmentVariable("HF_TOKEN")) ?? NonEmpty(Environment.GetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN")),
            Offline = IsTrue(Environment.GetEnvironmentVariable("HF_HUB_OFFLINE")) || IsTrue(Environment.GetEnvironmentVariable("TRANSFORMERS_OFFLINE")),
            CacheDir = downloadDir ?? ModelResolver.HubCacheDirs().First(),
        };
    }

    /// <summary>ModelScope's cache: MODELSCOPE_CACHE, else ~/.cache/modelscope/hub (models live under models/OWNER/NAME).</summary>
    public static string ModelScopeCacheDir()
    {
        var env = NonEmpty(Environment.GetEnvironmentVariable("MODELSCOPE_CACHE"));
        return env ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "modelscope", "hub");
    }

    static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
