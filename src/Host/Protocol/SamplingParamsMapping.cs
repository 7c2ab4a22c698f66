using Pipeline.Host.Http;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Protocol;

/// <summary>A generation request's sampling fields as the engine's SamplingParams, over the served model's defaults.</summary>
public static class SamplingParamsMapping
{
    /// <param name="promptTokens">The prompt's length, for chat's default limit (what is left of max_model_len).</param>
    public static SamplingParams ToSamplingParams(this GenerationRequest r, ServerContext server, int promptTokens = 0)
    {
        var defaults = server.Model.UseGenerationConfig ? server.Model.GenerationConfig.DefaultSamplingParams(new SamplingParams()) : new SamplingParams();
        return defaults with
        {
            N = r.N ?? 1,
            Temperature = r.Temperature ?? defaults.Temperature,
            TopP = r.TopP ?? defaults.TopP,
            TopK = r.TopK ?? defaults.TopK,
            MinP = r.MinP ?? defaults.MinP,
            PresencePenalty = r.PresencePenalty ?? 0,
            FrequencyPenalty = r.FrequencyPenalty ?? 0,
            RepetitionPenalty = r.RepetitionPenalty ?? defaults.RepetitionPenalty,
            Seed = r.Seed,
            Stop = r.Stop?.Items.ToArray() ?? [],
            StopTokenIds = r.StopTokenIds ?? [],
            IgnoreEos = r.IgnoreEos ?? false,
            MaxTokens = r.RequestedMaxTokens ?? r.DefaultMaxTokens(server.Model.MaxModelLen, promptTokens),
            MinTokens = r.MinTokens ?? 0,
            SkipSpecialTokens = r.SkipSpecialTokens ?? true,
            SpacesBetweenSpecialTokens = r.SpacesBetweenSpecialTokens ?? true,
            IncludeStopStrInOutput = r.IncludeStopStrInOutput ?? false,
            LogitBias = r.LogitBias?.ToDictionary(b => int.Parse(b.Key), b => (float)Math.Clamp(b.Value, -100, 100)),
            AllowedTokenIds = r.AllowedTokenIds,
            BadWords = r.BadWords?.Items.ToArray(),
            StructuredOutputs = r.ToStructuredOutputs(),
        };
    }
}
