using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>
/// The fields /v1/completions and /v1/chat/completions share: OpenAI's sampling fields and vLLM's extras
/// (top_k, min_p, repetition_penalty, ignore_eos, min_tokens, stop_token_ids, ...), plus streaming and priority.
/// </summary>
public abstract record GenerationRequest : ProtocolRequest
{
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public int? N { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public float? RepetitionPenalty { get; init; }
    public long? Seed { get; init; }
    public StringList? Stop { get; init; }
    public int[]? StopTokenIds { get; init; }
    public bool? IgnoreEos { get; init; }
    public int? MaxTokens { get; init; }
    public int? MinTokens { get; init; }
    public bool? SkipSpecialTokens { get; init; }
    public bool? SpacesBetweenSpecialTokens { get; init; }
    public bool? IncludeStopStrInOutput { get; init; }
    public Dictionary<string, double>? LogitBias { get; init; }
    public int[]? AllowedTokenIds { get; init; }
    public StringList? BadWords { get; init; }
    public int? Priority { get; init; }
    public bool? ReturnTokensAsTokenIds { get; init; }
    /// <summary>OpenAI's response_format (json_object, json_schema); see <see cref="StructuredOutputsMapping"/>.</summary>
    public ResponseFormat? ResponseFormat { get; init; }
    public StructuredOutputsRequest? StructuredOutputs { get; init; }
    /// <summary>vLLM's older guided decoding fields (a schema as an object or a string, a regex, choices, a grammar).</summary>
    public JsonElement? GuidedJson { get; init; }
    public string? GuidedRegex { get; init; }
    public string[]? GuidedChoice { get; init; }
    public string? GuidedGrammar { get; init; }
    public string? GuidedDecodingBackend { get; init; }
    public string? GuidedWhitespacePattern { get; init; }
    /// <summary>OpenAI's end-user id: accepted, not used.</summary>
    public string? User { get; init; }

    [JsonIgnore]
    public bool IsStream => Stream ?? false;

    /// <summary>The output-token limit the request asks for (chat prefers max_completion_tokens).</summary>
    [JsonIgnore]
    public virtual int? RequestedMaxTokens => MaxTokens;

    /// <summary>The limit when the request gives none.</summary>
    public abstract int DefaultMaxTokens(int maxModelLen, int promptTokens);

    /// <summary>What stream_options asks of an HTTP stream (the queue always streams and ignores them).</summary>
    public (bool IncludeUsage, bool Continuous) StreamUsage()
    {
        if (StreamOptions == null) return (false, false);
        if (!IsStream) throw ApiError.BadRequest("stream_options is only allowed when stream is true", "stream_options");
        return (StreamOptions.IncludeUsage ?? false, StreamOptions.ContinuousUsageStats ?? false);
    }

    public override void Validate()
    {
        if (N > 128) throw ApiError.BadRequest($"n must be at most 128, got {N}", "n");
        foreach (var key in LogitBias?.Keys ?? Enumerable.Empty<string>())
            if (!int.TryParse(key, out _)) throw ApiError.BadRequest($"logit_bias key '{key}' is not a token id", "logit_bias");
    }
}

/// <summary>stream_options: a final usage chunk, and usage on every chunk (vLLM's continuous_usage_stats).</summary>
public sealed record StreamOptions
{
    public bool? IncludeUsage { get; init; }
    public bool? ContinuousUsageStats { get; init; }

    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}
