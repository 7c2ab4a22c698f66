namespace Pipeline.Actors.Engine;

/// <summary>
/// A prompt as text (tokenized with the model's tokenizer) or as token ids, with the images it refers to: each image's
/// placeholder token appears once in the prompt, in order, and is expanded by the preprocessing stage.
/// </summary>
public sealed record PromptInput(string? Text, IReadOnlyList<int>? TokenIds, IReadOnlyList<ImageInput>? Images = null)
{
    public static PromptInput FromText(string text) => new(text, null);
    public static PromptInput FromIds(IReadOnlyList<int> ids) => new(null, ids);
    public static implicit operator PromptInput(string text) => FromText(text);
    public bool HasImages => Images is { Count: > 0 };
    /// <summary>
    /// Audio clips for an audio-language model (Qwen2-Audio), in the order of their placeholder tokens: each one's token
    /// appears once in the prompt and is expanded by the preprocessing stage, as images are.
    /// </summary>
    public IReadOnlyList<AudioInput>? AudioClips { get; init; }
    public bool HasAudioClips => AudioClips is { Count: > 0 };
    /// <summary>
    /// max_tokens was not given and defaults to what is left of max_model_len (chat): recomputed once images have
    /// expanded the prompt.
    /// </summary>
    public bool MaxTokensFillContext { get; init; }
    /// <summary>
    /// An encoder-decoder model's audio features (one 30 s window; the speech-to-text layer chunks longer audio and
    /// builds the decoder prompt in <see cref="TokenIds"/>); null otherwise.
    /// </summary>
    public Pipeline.Models.Multimodal.Audio.ProcessedAudio? Audio { get; init; }
}
