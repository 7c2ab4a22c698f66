using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>OpenAI's response_format: {"type": "text" | "json_object" | "json_schema", "json_schema": {...}}.</summary>
public sealed record ResponseFormat
{
    public string? Type { get; init; }
    public JsonSchemaFormat? JsonSchema { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>response_format.json_schema: the schema with OpenAI's name, description and strict.</summary>
public sealed record JsonSchemaFormat
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? Schema { get; init; }
    public bool? Strict { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>vLLM's structured_outputs field: one of json (a schema, as an object or a string), regex, choice, grammar, json_object.</summary>
public sealed record StructuredOutputsRequest
{
    public JsonElement? Json { get; init; }
    public string? Regex { get; init; }
    public string[]? Choice { get; init; }
    public string? Grammar { get; init; }
    public bool? JsonObject { get; init; }
    /// <summary>Accepted for compatibility: whitespace is always bounded here (docs/structured-outputs.md).</summary>
    public bool? DisableAnyWhitespace { get; init; }
    /// <summary>Accepted: undeclared properties are never generated here.</summary>
    public bool? DisableAdditionalProperties { get; init; }
    public string? WhitespacePattern { get; init; }
    public JsonElement? StructuralTag { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}
