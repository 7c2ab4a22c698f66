using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>The answer of /v1/completions, and each of its stream chunks (same shape; the last may have no choices and only usage).</summary>
public sealed record CompletionResponse : ApiResponse
{
    protected override string ObjectName => "text_completion";
    public required IReadOnlyList<CompletionChoice> Choices { get; init; }
    public UsageInfo? Usage { get; init; }
}

public sealed record CompletionChoice
{
    public required int Index { get; init; }
    public required string Text { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public CompletionLogprobs? Logprobs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
    public required StopReason StopReason { get; init; }
}

/// <summary>OpenAI's completions logprobs; an entry with a null logprob (the first echoed prompt token) has a null top_logprobs entry.</summary>
public sealed record CompletionLogprobs
{
    public required IReadOnlyList<string> Tokens { get; init; }
    public required IReadOnlyList<float?> TokenLogprobs { get; init; }
    public required IReadOnlyList<TopLogprobs?> TopLogprobs { get; init; }
    public required IReadOnlyList<int> TextOffset { get; init; }
}

/// <summary>The top tokens of one position as a JSON object of token text to logprob (token texts may repeat, so not a dictionary).</summary>
[JsonConverter(typeof(TopLogprobsConverter))]
public sealed record TopLogprobs(IReadOnlyList<(string Token, float Logprob)> Entries);

public sealed class TopLogprobsConverter : JsonConverter<TopLogprobs>
{
    public override TopLogprobs Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        return new(doc.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetSingle())).ToList());
    }

    public override void Write(Utf8JsonWriter writer, TopLogprobs value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (token, lp) in value.Entries) writer.WriteNumber(token, lp);
        writer.WriteEndObject();
    }
}
