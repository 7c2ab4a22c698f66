namespace Pipeline.Models.Sampling;

/// <summary>How output tokens are chosen and when generation stops; vLLM's SamplingParams.</summary>
public sealed record SamplingParams
{
    public int N { get; init; } = 1;
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }
    public float RepetitionPenalty { get; init; } = 1.0f;
    /// <summary>0 means greedy.</summary>
    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 1.0f;
    /// <summary>0 or -1 disables top-k.</summary>
    public int TopK { get; init; }
    public float MinP { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = Array.Empty<string>();
    public IReadOnlyList<int> StopTokenIds { get; init; } = Array.Empty<int>();
    public bool IgnoreEos { get; init; }
    /// <summary>Null means up to max_model_len.</summary>
    public int? MaxTokens { get; init; } = 16;
    public int MinTokens { get; init; }
    /// <summary>Top-k logprobs per output token; -1 means the whole vocabulary.</summary>
    public int? Logprobs { get; init; }
    public int? PromptLogprobs { get; init; }
    public bool Detokenize { get; init; } = true;
    public bool SkipSpecialTokens { get; init; } = true;
    public bool SpacesBetweenSpecialTokens { get; init; } = true;
    public bool IncludeStopStrInOutput { get; init; }
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    public IReadOnlyList<int>? AllowedTokenIds { get; init; }
    public IReadOnlyList<string>? BadWords { get; init; }
    public RequestOutputKind OutputKind { get; init; } = RequestOutputKind.Cumulative;
    /// <summary>A constraint the output must match (JSON schema, regex, choice, grammar), or null.</summary>
    public StructuredOutputsParams? StructuredOutputs { get; init; }
    /// <summary>Whisper's suppress and timestamp rules (set by the transcription serving layer); null otherwise.</summary>
    public WhisperDecodingParams? Whisper { get; init; }

    public bool IsGreedy => Temperature < 1e-5f;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field (vLLM's names).</summary>
    public void Validate(int? vocabSize = null)
    {
        if (N < 1) Fail("n", $"must be at least 1, got {N}");
        if (PresencePenalty is < -2 or > 2 || float.IsNaN(PresencePenalty)) Fail("presence_penalty", $"must be in [-2, 2], got {PresencePenalty}");
        if (FrequencyPenalty is < -2 or > 2 || float.IsNaN(FrequencyPenalty)) Fail("frequency_penalty", $"must be in [-2, 2], got {FrequencyPenalty}");
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty)) Fail("repetition_penalty", $"must be greater than zero, got {RepetitionPenalty}");
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) Fail("temperature", $"must be non-negative, got {Temperature}");
        if (!(TopP > 0 && TopP <= 1)) Fail("top_p", $"must be in (0, 1], got {TopP}");
        if (TopK < -1) Fail("top_k", $"must be -1 (disable), 0 (disable) or at least 1, got {TopK}");
        if (!(MinP >= 0 && MinP <= 1)) Fail("min_p", $"must be in [0, 1], got {MinP}");
        if (MaxTokens is < 1) Fail("max_tokens", $"must be at least 1, got {MaxTokens}");
        if (MinTokens < 0) Fail("min_tokens", $"must be greater than or equal to 0, got {MinTokens}");
        if (MaxTokens is int mt && MinTokens > mt) Fail("min_tokens", $"must be less than or equal to max_tokens={mt}, got {MinTokens}");
        if (Logprobs is < -1) Fail("logprobs", $"must be non-negative or -1, got {Logprobs}");
        if (PromptLogprobs is < -1) Fail("prompt_logprobs", $"must be non-negative or -1, got {PromptLogprobs}");
        if (Stop.Any(string.IsNullOrEmpty)) Fail("stop", "cannot contain an empty string");
        if (StructuredOutputs != null)
        {
            try { StructuredOutputs.Compile(); }
            catch (Pipeline.Models.StructuredOutputs.GrammarException e) { throw new SamplingParamsException("structured_outputs", e.Message); }
        }
        if (vocabSize is int v)
        {
            foreach (var id in StopTokenIds) if (id < 0 || id >= v) Fail("stop_token_ids", $"token id {id} is out of vocabulary range [0, {v})");
            if (LogitBias != null) foreach (var id in LogitBias.Keys) if (id < 0 || id >= v) Fail("logit_bias", $"token id {id} is out of vocabulary range [0, {v})");
            if (AllowedTokenIds != null)
            {
                if (AllowedTokenIds.Count == 0) Fail("allowed_token_ids", "cannot be empty");
                foreach (var id in AllowedTokenIds) if (id < 0 || id >= v) Fail("allowed_token_ids", $"token id {id} is out of vocabulary range [0, {v})");
            }
        }
    }

    static void Fail(string field, string message) => throw new SamplingParamsException(field, $"{field} {message}");
}

public enum RequestOutputKind { Cumulative, Delta, FinalOnly }

/// <summary>A sampling parameter is invalid; <see cref="Field"/> is vLLM's field name.</summary>
public sealed class SamplingParamsException(string field, string message) : ArgumentException(message, field)
{
    public string Field { get; } = field;
    public override string Message => base.Message.Split(" (Parameter")[0];
}
