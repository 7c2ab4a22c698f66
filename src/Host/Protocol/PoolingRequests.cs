using System.Text.Json.Serialization;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>A request whose `input` is texts or token ids, one engine request per item.</summary>
public abstract record PoolingInputRequest : ProtocolRequest
{
    public TextsOrTokens? Input { get; init; }
    public string? User { get; init; }

    public override void Validate()
    {
        if (Input == null) throw ApiError.BadRequest("input is required", "input");
    }
}

/// <summary>The body of POST /v1/embeddings and /pooling.</summary>
public sealed record EmbeddingRequest : PoolingInputRequest
{
    public string? EncodingFormat { get; init; }
    public int? Dimensions { get; init; }
    public bool? Normalize { get; init; }

    [JsonIgnore]
    public string Format => EncodingFormat ?? "float";

    public override void Validate()
    {
        base.Validate();
        if (Format is not ("float" or "base64")) throw ApiError.BadRequest($"encoding_format must be float or base64, got '{Format}'", "encoding_format");
    }
}

/// <summary>The body of POST /classify.</summary>
public sealed record ClassifyRequest : PoolingInputRequest;
