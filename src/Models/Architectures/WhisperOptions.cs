using Pipeline.Models.Config;

namespace Pipeline.Models.Architectures;

/// <summary>Whisper's config.json fields (WhisperConfig), read once.</summary>
public sealed record WhisperOptions(int DModel, int EncoderLayers, int EncoderHeads, int EncoderFfnDim, int DecoderLayers,
    int DecoderHeads, int DecoderFfnDim, int NumMelBins, int MaxSourcePositions, int MaxTargetPositions, string Activation,
    bool ScaleEmbedding)
{
    /// <summary>Whisper's LayerNorms keep torch's default epsilon.</summary>
    public const double LayerNormEps = 1e-5;

    public static WhisperOptions From(ModelConfig c)
    {
        int Req(string k) => c.RequiredIntField(k);
        var o = new WhisperOptions(Req("d_model"), Req("encoder_layers"), Req("encoder_attention_heads"), Req("encoder_ffn_dim"),
            Req("decoder_layers"), Req("decoder_attention_heads"), Req("decoder_ffn_dim"), c.IntField("num_mel_bins") ?? 80,
            c.IntField("max_source_positions") ?? 1500, c.IntField("max_target_positions") ?? 448,
            c.StringField("activation_function") ?? "gelu", c.BoolField("scale_embedding") ?? false);
        if (o.DModel % o.EncoderHeads != 0 || o.DModel % o.DecoderHeads != 0)
            throw new ModelConfigException($"config.json: d_model ({o.DModel}) must be a multiple of the attention heads");
        return o;
    }
}
