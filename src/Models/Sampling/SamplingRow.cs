using static TorchSharp.torch;

namespace Pipeline.Models.Sampling;

/// <summary>
/// What the sampler needs of one request for one step: its params, its own generator when seeded, the tokens
/// so far (for penalties and bad words), the ids min_tokens must hold back (EOS and stop_token_ids), and
/// bad_words already turned into token-id sequences by the tokenizer.
/// </summary>
public readonly record struct SamplingRow(
    SamplingParams Params,
    Generator? Generator,
    IReadOnlyList<int>? PromptTokenIds = null,
    IReadOnlyList<int>? OutputTokenIds = null,
    IReadOnlyCollection<int>? MinTokensStopIds = null,
    IReadOnlyList<int[]>? BadWordsTokenIds = null)
{
    public int NumOutputTokens => OutputTokenIds?.Count ?? 0;
}
