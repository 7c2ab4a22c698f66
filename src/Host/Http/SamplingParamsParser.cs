using System.Text.Json;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>
/// The sampling fields shared by /v1/completions and /v1/chat/completions, OpenAI's and vLLM's extras
/// (top_k, min_p, repetition_penalty, ignore_eos, min_tokens, stop_token_ids, ...), validated with the field named.
/// </summary>
public static class SamplingParamsParser
{
    public static SamplingParams Parse(JsonFields f, SamplingParams defaults, int? maxTokensOverride = null)
    {
        Dictionary<int, float>? bias = null;
        if (f.Get("logit_bias") is { } lb)
        {
            if (lb.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("logit_bias must be an object of token id to bias", "logit_bias");
            bias = new Dictionary<int, float>();
            foreach (var p in lb.EnumerateObject())
            {
                if (!int.TryParse(p.Name, out var id)) throw ApiError.BadRequest($"logit_bias key '{p.Name}' is not a token id", "logit_bias");
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out var b) || !double.IsFinite(b))
                    throw ApiError.BadRequest($"logit_bias value for {id} must be a number", "logit_bias");
                bias[id] = (float)Math.Clamp(b, -100, 100);
            }
        }
        var sp = defaults with
        {
            N = f.Int("n") ?? 1,
            Temperature = f.Float("temperature") ?? defaults.Temperature,
            TopP = f.Float("top_p") ?? defaults.TopP,
            TopK = f.Int("top_k") ?? defaults.TopK,
            MinP = f.Float("min_p") ?? defaults.MinP,
            PresencePenalty = f.Float("presence_penalty") ?? 0,
            FrequencyPenalty = f.Float("frequency_penalty") ?? 0,
            RepetitionPenalty = f.Float("repetition_penalty") ?? defaults.RepetitionPenalty,
            Seed = f.Long("seed"),
            Stop = f.Strings("stop") ?? [],
            StopTokenIds = f.IntArray("stop_token_ids") ?? [],
            IgnoreEos = f.Bool("ignore_eos") ?? false,
            MaxTokens = maxTokensOverride ?? f.Int("max_tokens"),
            MinTokens = f.Int("min_tokens") ?? 0,
            SkipSpecialTokens = f.Bool("skip_special_tokens") ?? true,
            SpacesBetweenSpecialTokens = f.Bool("spaces_between_special_tokens") ?? true,
            IncludeStopStrInOutput = f.Bool("include_stop_str_in_output") ?? false,
            LogitBias = bias,
            AllowedTokenIds = f.IntArray("allowed_token_ids"),
            BadWords = f.Strings("bad_words"),
        };
        if (sp.N > 128) throw ApiError.BadRequest($"n must be at most 128, got {sp.N}", "n");
        return sp;
    }
}
