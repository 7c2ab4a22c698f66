namespace Pipeline.Host.Protocol;

/// <summary>The answer of /v1/models: the one served model.</summary>
public sealed record ModelList
{
    public string Object => "list";
    public required IReadOnlyList<ModelCard> Data { get; init; }
}

public sealed record ModelCard
{
    public required string Id { get; init; }
    public string Object => "model";
    /// <summary>Unix seconds the server started (a pooling server gives none).</summary>
    public long? Created { get; init; }
    public string OwnedBy => "pipeline";
    public required string Root { get; init; }
    public required int MaxModelLen { get; init; }
    /// <summary>
    /// What the model reads: ["text"], or ["text", "image"] for a vision-language model. Not in vLLM's card; an extra
    /// field (named as OpenRouter's model list names it) that OpenAI clients ignore and the chat page reads.
    /// </summary>
    public IReadOnlyList<string>? InputModalities { get; init; }
    /// <summary>The base model a LoRA adapter runs on (null for the base model itself), as vLLM lists adapters.</summary>
    public string? Parent { get; init; }
}
