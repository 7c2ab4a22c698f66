namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// One request's audio as the encoder takes it: log-mel features [NumMelBins, NumFrames] row-major (one 30 s window),
/// the seconds of audio they hold, and a content hash (SHA-256 of the 16 kHz waveform) for the prefix-cache keys.
/// </summary>
public sealed record ProcessedAudio(float[] Features, int NumMelBins, int NumFrames, double Seconds, string Hash)
{
    /// <summary>
    /// The frames that hold audio rather than padding (transformers' feature_attention_mask summed: ceil(samples / hop)
    /// for a clip shorter than the window); Qwen2-Audio's token count and encoder length follow from it.
    /// </summary>
    public int ValidFrames { get; init; } = NumFrames;
}
