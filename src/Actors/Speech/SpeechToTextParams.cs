namespace Pipeline.Actors.Speech;

/// <summary>
/// One transcription or translation request (OpenAI's audio API fields, as vLLM takes them): the task, the spoken
/// language (detected when null), the previous text to condition on, timestamps, and the sampling fields.
/// </summary>
public sealed record SpeechToTextParams
{
    /// <summary>"transcribe" or "translate" (to English).</summary>
    public string Task { get; init; } = "transcribe";
    public string? Language { get; init; }
    public string? Prompt { get; init; }
    /// <summary>Segment timestamps (verbose_json, srt, vtt, or --timestamps): the decoder prompt leaves out &lt;|notimestamps|&gt;.</summary>
    public bool Timestamps { get; init; }
    public float Temperature { get; init; }
    public float TopP { get; init; } = 1.0f;
    public int TopK { get; init; }
    public long? Seed { get; init; }
    /// <summary>Tokens per 30 s chunk; null: what is left of the decoder's max_target_positions.</summary>
    public int? MaxTokens { get; init; }
    /// <summary>Tokens per window before end of text may stop it (benchmarks force a length with it).</summary>
    public int MinTokens { get; init; }
    public int? Logprobs { get; init; }
}
