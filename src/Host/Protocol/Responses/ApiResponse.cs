using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>The fields an OpenAI response object starts with, in this order: id, object, created, model.</summary>
public abstract record ApiResponse
{
    [JsonPropertyOrder(-4)]
    public required string Id { get; init; }
    [JsonPropertyOrder(-3)]
    public string Object => ObjectName;
    [JsonPropertyOrder(-2)]
    public required long Created { get; init; }
    [JsonPropertyOrder(-1)]
    public required string Model { get; init; }

    protected abstract string ObjectName { get; }
}
