namespace Pipeline.Host.Protocol;

/// <summary>OpenAI's audio usage: the seconds of audio (rounded up), as vLLM reports it for transcriptions.</summary>
public sealed record TranscriptionUsage(string Type, int Seconds);

/// <summary>response_format json: the text.</summary>
public sealed record TranscriptionResponse(string Text, TranscriptionUsage? Usage = null);

/// <summary>One segment of verbose_json.</summary>
public sealed record TranscriptionSegmentJson(int Id, int Seek, double Start, double End, string Text, IReadOnlyList<int> Tokens,
    double Temperature, double AvgLogprob, double CompressionRatio, double NoSpeechProb);

/// <summary>response_format verbose_json: task, language (English name), duration, text and segments.</summary>
public sealed record TranscriptionResponseVerbose(string Task, string Language, double Duration, string Text,
    IReadOnlyList<TranscriptionSegmentJson> Segments, TranscriptionUsage? Usage = null);

public sealed record TranscriptionDelta(string? Content);

public sealed record TranscriptionStreamChoice(TranscriptionDelta Delta, string? FinishReason = null, object? StopReason = null);

/// <summary>One SSE chunk of stream=true, as vLLM streams transcriptions (object "transcription.chunk").</summary>
public sealed record TranscriptionStreamResponse(string Id, string Object, long Created, string Model,
    IReadOnlyList<TranscriptionStreamChoice> Choices, UsageInfo? Usage = null);
