using System.Text.Json.Nodes;
using Pipeline.Models.Sampling;

namespace Pipeline.Models.Config;

/// <summary>
/// generation_config.json: EOS ids always count; its sampling defaults apply with --generation-config auto
/// (vLLM's default) and are ignored with --generation-config vllm.
/// </summary>
public sealed record GenerationConfig
{
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public float? RepetitionPenalty { get; init; }
    public int? MaxNewTokens { get; init; }

    public static GenerationConfig Load(string modelDir)
    {
        var path = Path.Combine(modelDir, "generation_config.json");
        if (!File.Exists(path)) return new GenerationConfig();
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? new JsonObject(); }
        catch (System.Text.Json.JsonException e) { throw new ModelConfigException($"{path} is not valid JSON: {e.Message}"); }
        return new GenerationConfig
        {
            EosTokenIds = ModelConfig.TokenIds(o["eos_token_id"]),
            // vLLM applies these whenever present, whatever do_sample says.
            Temperature = F(o, "temperature"),
            TopP = F(o, "top_p"),
            TopK = o["top_k"] is JsonValue k && k.TryGetValue<int>(out var ki) ? ki : null,
            MinP = F(o, "min_p"),
            RepetitionPenalty = F(o, "repetition_penalty"),
            MaxNewTokens = o["max_new_tokens"] is JsonValue m && m.TryGetValue<int>(out var mi) ? mi : null,
        };
    }

    static float? F(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? (float)d : null;

    /// <summary>The model's defaults for a request: vLLM's `--generation-config auto` behaviour.</summary>
    public SamplingParams DefaultSamplingParams(SamplingParams baseline) => baseline with
    {
        Temperature = Temperature ?? baseline.Temperature,
        TopP = TopP ?? baseline.TopP,
        TopK = TopK ?? baseline.TopK,
        MinP = MinP ?? baseline.MinP,
        RepetitionPenalty = RepetitionPenalty ?? baseline.RepetitionPenalty,
    };
}
