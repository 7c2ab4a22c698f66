namespace Pipeline.Actors.Multimodal;

/// <summary>
/// Where images and audio clips may come from and how large they may be (vLLM's --allowed-local-media-path, --allowed-media-domains,
/// --limit-mm-per-prompt and its media fetch timeout). http(s) URLs are refused unless domains are allowed.
/// </summary>
public sealed record MediaOptions
{
    /// <summary>file: URLs are allowed only for files under this folder; null refuses them.</summary>
    public string? AllowedLocalMediaPath { get; init; }
    /// <summary>Hosts whose http(s) URLs may be fetched (exact names, or "*" for any); empty refuses URLs.</summary>
    public IReadOnlyList<string> AllowedMediaDomains { get; init; } = [];
    /// <summary>Largest encoded image accepted, from any source.</summary>
    public long MaxImageBytes { get; init; } = 20 * 1024 * 1024;
    /// <summary>Largest decoded image accepted (width x height).</summary>
    public long MaxImagePixels { get; init; } = Pipeline.Models.Multimodal.ImageDecoder.DefaultMaxPixels;
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Images accepted in one prompt.</summary>
    public int LimitImagesPerPrompt { get; init; } = 8;
    /// <summary>Audio clips accepted in one prompt (audio-language models such as Qwen2-Audio).</summary>
    public int LimitAudioPerPrompt { get; init; } = 8;
    /// <summary>Largest encoded audio clip accepted, from any source (OpenAI's audio upload limit, as for transcriptions).</summary>
    public long MaxAudioBytes { get; init; } = 25 * 1024 * 1024;
    public int MaxRedirects { get; init; } = 5;

    public static readonly MediaOptions Default = new();
}
