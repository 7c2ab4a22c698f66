namespace Pipeline.Models.Architectures;

/// <summary>Hugging Face weight names of a decoder checkpoint's outer parts, declared as data.</summary>
public sealed record WeightNames(string Embed, string LayerFormat, string FinalNorm, string LmHead)
{
    public string LayerPrefix(int i) => string.Format(System.Globalization.CultureInfo.InvariantCulture, LayerFormat, i);

    public static readonly WeightNames Llama = new("model.embed_tokens.weight", "model.layers.{0}.", "model.norm.weight", "lm_head.weight");
}
