using Pipeline.Models.Runner;

namespace Pipeline.Actors.Speech;

/// <summary>A stretch of speech between two timestamp tokens (OpenAI's verbose_json segment).</summary>
public sealed record TranscriptionSegment(int Id, double Start, double End, string Text, IReadOnlyList<int> Tokens, double AvgLogprob,
    int Seek);

/// <summary>
/// A finished transcription: the text of every chunk joined, the language (given or detected), the audio's length,
/// the segments when timestamps were asked for, and per chunk the generated token ids (timestamps included) and logprobs.
/// </summary>
public sealed record TranscriptionResult(
    string Text,
    string Language,
    double Duration,
    IReadOnlyList<TranscriptionSegment> Segments,
    IReadOnlyList<IReadOnlyList<int>> ChunkTokenIds,
    IReadOnlyList<IReadOnlyList<TokenLogprobs>?> ChunkLogprobs,
    int PromptTokens,
    int CompletionTokens,
    string? FinishReason);

/// <summary>
/// What the speech-to-text layer streams: text deltas as tokens arrive, with the tokens generated since the last delta
/// (the deltas of all windows add up to the result's text and its windows' tokens), then the result.
/// </summary>
public sealed record SpeechOutput(string Delta, IReadOnlyList<int> NewTokenIds, TranscriptionResult? Result = null);
