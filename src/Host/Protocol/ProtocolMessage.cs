using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>A JSON object of the protocol: typed fields, the fields it does not know, and its own rules.</summary>
public abstract record ProtocolMessage
{
    /// <summary>Fields this type does not declare (a misspelled `temprature` lands here); see <see cref="RequestReader"/>.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? UnknownFields { get; set; }

    /// <summary>Rules beyond the field types (ranges, required fields, combinations); each failure is a 400 naming the field.</summary>
    public virtual void Validate() { }
}

/// <summary>A request to one of the served routes; `model`, when given, must name the served model.</summary>
public abstract record ProtocolRequest : ProtocolMessage
{
    public string? Model { get; init; }
}
