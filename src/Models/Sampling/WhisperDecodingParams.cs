namespace Pipeline.Models.Sampling;

/// <summary>
/// The logit rules of Whisper's decoding, from the checkpoint's generation_config.json, as transformers' Whisper
/// generate applies them after the decoder prompt: begin_suppress_tokens at the first generated position,
/// suppress_tokens at every position, and with timestamps the timestamp rules (WhisperTimeStampLogitsProcessor).
/// </summary>
public sealed record WhisperDecodingParams(
    IReadOnlyList<int> SuppressTokens,
    IReadOnlyList<int> BeginSuppressTokens,
    bool Timestamps,
    int TimestampBegin,
    int NoTimestampsTokenId,
    int EosTokenId,
    int? MaxInitialTimestampIndex = 50);
