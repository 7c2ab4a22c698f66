using System.Text.Json;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Cluster;

/// <summary>SamplingParams as JSON text for the trip to a worker node (every field, structured outputs included).</summary>
public static class SamplingParamsJson
{
    static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static string Write(SamplingParams sp) => JsonSerializer.Serialize(sp, Options);

    public static SamplingParams Read(string json) =>
        JsonSerializer.Deserialize<SamplingParams>(json, Options) ?? throw new ArgumentException("empty sampling params");
}
