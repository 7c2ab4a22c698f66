namespace Pipeline.Models.Architectures;

/// <summary>Hugging Face weight names of a decoder checkpoint, declared as data.</summary>
public sealed record WeightNames(string Embed, string LayerFormat, string FinalNorm, string LmHead)
{
    public string LayerPrefix(int i) => string.Format(LayerFormat, i);

    public static readonly WeightNames Llama = new("model.embed_tokens.weight", "model.layers.{0}.", "model.norm.weight", "lm_head.weight");
}

/// <summary>What distinguishes one Llama-like family from another. Null bias flags follow config.attention_bias.</summary>
public sealed record DecoderFamily(string Name, WeightNames Names, bool? QkvBias = null, bool? OBias = null, bool QkNorm = false)
{
    public static readonly DecoderFamily Llama = new("llama", WeightNames.Llama);
    public static readonly DecoderFamily Mistral = new("mistral", WeightNames.Llama);
    public static readonly DecoderFamily Qwen2 = new("qwen2", WeightNames.Llama, QkvBias: true, OBias: false);
    public static readonly DecoderFamily Qwen3 = new("qwen3", WeightNames.Llama, QkNorm: true);
}
