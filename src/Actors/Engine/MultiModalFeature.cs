using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Engine;

/// <summary>
/// A multimodal input (e.g. an image) occupying prompt positions [Offset, Offset + Length); its content
/// <see cref="Hash"/> becomes an extra key of every KV block it overlaps, so equal placeholder tokens with
/// different images never share cached blocks. <see cref="Image"/> holds the processed pixels for the model,
/// <see cref="AudioClip"/> a placeholder audio clip's features (Qwen2-Audio);
/// <see cref="Audio"/> an encoder-decoder model's audio features, which every decoder position depends on (so such a
/// feature spans the whole sequence: <see cref="ForAudio"/>).
/// </summary>
public sealed record MultiModalFeature(string Hash, int Offset, int Length, ProcessedImage? Image = null,
    Pipeline.Models.Multimodal.Audio.ProcessedAudio? Audio = null, Pipeline.Models.Multimodal.Audio.ProcessedAudio? AudioClip = null)
{
    /// <summary>Which positions of the range take the image's encoder rows, in order (null: all of them).</summary>
    public bool[]? IsEmbed { get; init; }

    /// <summary>
    /// Whether the encoder's rows replace this input's placeholder tokens (an image, or an audio clip of a decoder-only
    /// audio-language model such as Qwen2-Audio): scheduled under the encoder budget and kept in the encoder cache.
    /// </summary>
    public bool IsEncoderInput => Image != null || AudioClip != null;

    /// <summary>
    /// The encoder positions computing this input costs (counted against the step's encoder budget): an image's rows, or
    /// for audio the encoder's sequence length (Whisper: its second convolution halves the frames, 3000 to 1500 per 30 s window).
    /// </summary>
    public int EncoderTokens => Audio is { } a ? a.NumFrames / 2 : Length;

    /// <summary>Audio for an encoder-decoder model: keys every KV block of the request.</summary>
    public static MultiModalFeature ForAudio(Pipeline.Models.Multimodal.Audio.ProcessedAudio audio) =>
        new(audio.Hash, 0, int.MaxValue / 2, null, audio);
}
