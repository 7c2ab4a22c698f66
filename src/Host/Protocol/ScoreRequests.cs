using System.Text.Json.Serialization;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>The body of POST /score: text_1 (one text, or one per text_2) scored against each text_2.</summary>
public sealed record ScoreRequest : ProtocolRequest
{
    [JsonPropertyName("text_1")]
    public StringList? Text1 { get; init; }
    [JsonPropertyName("text_2")]
    public StringList? Text2 { get; init; }

    /// <summary>The (text_1, text_2) pairs to score.</summary>
    public List<(string A, string B)> Pairs()
    {
        var a = Text1!.Items;
        return Text2!.Items.Select((t, i) => (a.Count == 1 ? a[0] : a[i], t)).ToList();
    }

    public override void Validate()
    {
        Required(Text1, "text_1");
        Required(Text2, "text_2");
        if (Text1!.Items.Count != 1 && Text1.Items.Count != Text2!.Items.Count)
            throw ApiError.BadRequest($"text_1 must be one text or as many as text_2 ({Text2.Items.Count}), got {Text1.Items.Count}", "text_1");
    }

    static void Required(StringList? texts, string name)
    {
        if (texts is not { Items.Count: > 0 }) throw ApiError.BadRequest($"{name} is required (a string or a list of strings)", name);
    }
}

/// <summary>The body of POST /rerank (/v1/rerank, /v2/rerank).</summary>
public sealed record RerankRequest : ProtocolRequest
{
    public string? Query { get; init; }
    public List<RerankDocument>? Documents { get; init; }
    public int? TopN { get; init; }
    public bool? ReturnDocuments { get; init; }

    public override void Validate()
    {
        if (Query == null) throw ApiError.BadRequest("query is required", "query");
        if (Documents == null) throw ApiError.BadRequest("documents is required and must be a list", "documents");
        if (Documents.Count == 0) throw ApiError.BadRequest("documents must not be empty", "documents");
        if (TopN < 1) throw ApiError.BadRequest($"top_n must be at least 1, got {TopN}", "top_n");
    }
}
