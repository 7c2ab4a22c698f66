using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>The list answer of /v1/embeddings, /pooling, /classify and /score: `data` holds one item per input or pair.</summary>
public sealed record PoolingListResponse<T> : ApiResponse
{
    protected override string ObjectName => "list";
    public required IReadOnlyList<T> Data { get; init; }
    public required UsageInfo Usage { get; init; }
}

/// <summary>One embedding: floats, base64 of the float32 bytes, or (a reward model's /pooling) one row per token.</summary>
[JsonConverter(typeof(PooledValueConverter))]
public sealed record PooledValue(float[]? Floats = null, string? Base64 = null, float[][]? Rows = null);

public sealed class PooledValueConverter : JsonConverter<PooledValue>
{
    public override PooledValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("pooled values are only written");

    public override void Write(Utf8JsonWriter writer, PooledValue value, JsonSerializerOptions options)
    {
        if (value.Base64 != null) { writer.WriteStringValue(value.Base64); return; }
        if (value.Rows != null)
        {
            writer.WriteStartArray();
            foreach (var row in value.Rows) Floats(writer, row);
            writer.WriteEndArray();
            return;
        }
        Floats(writer, value.Floats!);
    }

    static void Floats(Utf8JsonWriter writer, float[] values)
    {
        writer.WriteStartArray();
        foreach (var x in values) writer.WriteNumberValue(x);
        writer.WriteEndArray();
    }
}

/// <summary>An item of /v1/embeddings.</summary>
public sealed record EmbeddingData
{
    public required int Index { get; init; }
    public string Object => "embedding";
    public required PooledValue Embedding { get; init; }
}

/// <summary>An item of /pooling.</summary>
public sealed record PoolingData
{
    public required int Index { get; init; }
    public string Object => "pooling";
    public required PooledValue Data { get; init; }
}

/// <summary>An item of /classify.</summary>
public sealed record ClassificationData
{
    public required int Index { get; init; }
    public required string Label { get; init; }
    public required float[] Probs { get; init; }
    public int NumClasses => Probs.Length;
}

/// <summary>An item of /score.</summary>
public sealed record ScoreData
{
    public required int Index { get; init; }
    public string Object => "score";
    public required float Score { get; init; }
}

/// <summary>The answer of /rerank.</summary>
public sealed record RerankResponse
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required UsageInfo Usage { get; init; }
    public required IReadOnlyList<RerankResult> Results { get; init; }
}

public sealed record RerankResult
{
    public required int Index { get; init; }
    /// <summary>The document, unless the request asked return_documents: false.</summary>
    public RerankDocument? Document { get; init; }
    public required float RelevanceScore { get; init; }
}
