using Pipeline.Actors.Speech;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>
/// A transcription or translation request: the fields of OpenAI's audio API (the multipart form of
/// /v1/audio/transcriptions, read into this type field by field), or a queue message's JSON body, whose `file` carries
/// the audio as base64 or a data URL and whose `task` says which of the two it is (docs/queue.md).
/// </summary>
public sealed record TranscriptionRequest : ProtocolRequest
{
    /// <summary>vLLM's default ceiling on the audio (VLLM_MAX_AUDIO_CLIP_FILESIZE_MB = 25).</summary>
    public const long MaxFileBytes = 25L * 1024 * 1024;

    public static readonly string[] Formats = ["json", "text", "verbose_json", "srt", "vtt"];

    /// <summary>Queue messages only: the audio, base64 or data:audio/...;base64,... (the form sends it as a file part).</summary>
    public string? File { get; init; }
    /// <summary>Queue messages only (the route says it over HTTP): transcribe (default) or translate.</summary>
    public string? Task { get; init; }
    public string? Language { get; init; }
    public string? Prompt { get; init; }
    public string? ResponseFormat { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public long? Seed { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public int? Priority { get; init; }

    public string Format => ResponseFormat ?? "json";

    public override void Validate()
    {
        if (!Formats.Contains(Format))
            throw ApiError.BadRequest($"response_format must be one of {string.Join(", ", Formats)}, not '{ResponseFormat}'", "response_format");
        if (Task is not (null or "transcribe" or "translate"))
            throw ApiError.BadRequest($"task must be transcribe or translate, not '{Task}'", "task");
    }

    /// <summary>The speech-to-text parameters; <paramref name="task"/> is the route's over HTTP, else the message's.</summary>
    public SpeechToTextParams ToParams(string? task = null) => new()
    {
        Task = task ?? Task ?? "transcribe",
        Language = Language is { Length: > 0 } l ? l : null,
        Prompt = Prompt,
        Timestamps = Format is "verbose_json" or "srt" or "vtt",
        Temperature = Temperature ?? 0f,
        TopP = TopP ?? 1f,
        TopK = TopK ?? 0,
        Seed = Seed,
        MaxTokens = MaxCompletionTokens,
    };

    /// <summary>The audio bytes of a queue message's `file`: base64, or a data URL with base64 data; a 400 naming `file` otherwise.</summary>
    public byte[] AudioBytes()
    {
        if (File is not { Length: > 0 } file) throw ApiError.BadRequest("'file' is required: the audio as base64 or a data:audio/...;base64, URL", "file");
        var data = file.AsSpan();
        if (file.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = file.IndexOf(',');
            if (comma < 0) throw ApiError.BadRequest("the audio data URL has no ',' before its data (expected data:audio/wav;base64,...)", "file");
            var meta = file[5..comma];
            if (!meta.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw ApiError.BadRequest($"the audio data URL must be base64 encoded (data:<type>;base64,...), got 'data:{meta}'", "file");
            data = data[(comma + 1)..];
        }
        if ((long)data.Length / 4 * 3 > MaxFileBytes + 3)
            throw ApiError.BadRequest($"the audio is too large: {data.Length} base64 characters, more than {MaxFileBytes} bytes", "file");
        var bytes = new byte[data.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(data, bytes, out int n))
            throw ApiError.BadRequest("'file' is not valid base64 (check for truncation, whitespace or URL-safe characters)", "file");
        if (n == 0) throw ApiError.BadRequest("the audio file is empty (0 bytes)", "file");
        if (n > MaxFileBytes) throw ApiError.BadRequest($"the audio file is too large: {n} bytes, more than {MaxFileBytes}", "file");
        return bytes.AsSpan(0, n).ToArray();
    }
}
