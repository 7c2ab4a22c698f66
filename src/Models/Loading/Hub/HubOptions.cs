namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// Where and how models are downloaded, as huggingface_hub and vLLM read them from the environment: HF_ENDPOINT,
/// HF_TOKEN or the login token file (<see cref="HfToken"/>), HF_HUB_OFFLINE, the hub cache (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub) or --download-dir,
/// and VLLM_USE_MODELSCOPE with MODELSCOPE_ENDPOINT / MODELSCOPE_DOMAIN, MODELSCOPE_API_TOKEN and MODELSCOPE_CACHE.
/// </summary>
public sealed record HubOptions
{
    public const string DefaultEndpoint = "https://huggingface.co";
    public const string DefaultModelScopeEndpoint = "https://www.modelscope.cn";

    /// <summary>The Hub (or a mirror) to download from.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;
    public string? Token { get; init; }
    /// <summary>Where <see cref="Token"/> came from: "--hf-token", the variable's name, or the token file's path.</summary>
    public string? TokenSource { get; init; }
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
    public static HubOptions FromEnvironment(string? token = null, string? downloadDir = null) =>
        FromEnvironment(token, downloadDir, Environment.GetEnvironmentVariable);

    /// <summary>As above, reading variables through <paramref name="env"/> (the process environment by default).</summary>
    public static HubOptions FromEnvironment(string? token, string? downloadDir, Func<string, string?> env)
    {
        bool modelScope = IsTrue(env("VLLM_USE_MODELSCOPE"));
        if (modelScope)
        {
            var domain = env("MODELSCOPE_DOMAIN");
            var endpoint = env("MODELSCOPE_ENDPOINT")
                ?? (string.IsNullOrEmpty(domain) ? DefaultModelScopeEndpoint : domain.Contains("://") ? domain : "https://" + domain);
            return new HubOptions
            {
                UseModelScope = true,
                Endpoint = endpoint.TrimEnd('/'),
                Token = NonEmpty(token) ?? NonEmpty(env("MODELSCOPE_API_TOKEN")),
                TokenSource = NonEmpty(token) != null ? "--hf-token" : NonEmpty(env("MODELSCOPE_API_TOKEN")) != null ? "MODELSCOPE_API_TOKEN" : null,
                Offline = IsTrue(env("HF_HUB_OFFLINE")) || IsTrue(env("MODELSCOPE_OFFLINE")),
                CacheDir = downloadDir ?? ModelScopeCacheDir(),
            };
        }
        var (hfToken, source) = HfToken.Resolve(token, env);
        return new HubOptions
        {
            Endpoint = (NonEmpty(env("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/'),
            Token = hfToken,
            TokenSource = source,
            Offline = IsTrue(env("HF_HUB_OFFLINE")) || IsTrue(env("TRANSFORMERS_OFFLINE")),
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
