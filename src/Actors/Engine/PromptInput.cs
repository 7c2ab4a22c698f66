namespace Pipeline.Actors.Engine;

/// <summary>A prompt as text (tokenized with the model's tokenizer) or as token ids.</summary>
public sealed record PromptInput(string? Text, IReadOnlyList<int>? TokenIds)
{
    public static PromptInput FromText(string text) => new(text, null);
    public static PromptInput FromIds(IReadOnlyList<int> ids) => new(null, ids);
    public static implicit operator PromptInput(string text) => FromText(text);
}
