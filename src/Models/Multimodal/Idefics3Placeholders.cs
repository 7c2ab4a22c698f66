using System.Text;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Idefics3 / SmolVLM: an image's one &lt;image&gt; becomes, per tile, &lt;fake_token_around_image&gt;&lt;row_r_col_c&gt;
/// and image_seq_len image tokens, a newline after each row of tiles, then a newline and the global image
/// (&lt;fake_token_around_image&gt;&lt;global-img&gt;, image_seq_len image tokens, &lt;fake_token_around_image&gt;); an image
/// that was not split is only the global part (transformers' Idefics3Processor / SmolVLMProcessor). The text is
/// tokenized as the tokenizer does it (so "\n\n" is whatever the tokenizer makes of it); only the image tokens take
/// encoder rows.
/// </summary>
public sealed class Idefics3Placeholders(Idefics3ImageProcessor images, int imageTokenId, int imageSeqLen, Func<string, int[]> encode)
    : ImagePlaceholders(images, imageTokenId)
{
    public const string FakeImageToken = "<fake_token_around_image>", ImageToken = "<image>", GlobalImageToken = "<global-img>";

    public int ImageSeqLen => imageSeqLen;

    /// <summary>image_seq_len from the processor config, else what the model gives per tile: (image_size / patch_size)² / scale_factor².</summary>
    public static Idefics3Placeholders Create(Idefics3ImageProcessor images, int imageTokenId, System.Text.Json.Nodes.JsonObject modelConfig, Func<string, int[]> encode)
    {
        static int? Int(System.Text.Json.Nodes.JsonNode? n) => n is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        int seq = Int(images.Config.Processor["image_seq_len"]) ?? ImageSeqLenOf(modelConfig);
        return new Idefics3Placeholders(images, imageTokenId, seq, encode);
    }

    public static int ImageSeqLenOf(System.Text.Json.Nodes.JsonObject modelConfig)
    {
        var v = modelConfig["vision_config"] as System.Text.Json.Nodes.JsonObject ?? throw new MediaException("config.json has no vision_config");
        int image = (int)(v["image_size"]?.GetValue<double>() ?? 224), patch = (int)(v["patch_size"]?.GetValue<double>() ?? 32);
        int scale = (int)(modelConfig["scale_factor"]?.GetValue<double>() ?? 2);
        return image / patch * (image / patch) / (scale * scale);
    }

    /// <summary>The replacement text of transformers' replace_image_token.</summary>
    public string ReplacementText(ProcessedImage image)
    {
        var tokens = string.Concat(Enumerable.Repeat(ImageToken, imageSeqLen));
        var global = FakeImageToken + GlobalImageToken + tokens + FakeImageToken;
        if (image.Rows == 0 && image.Cols == 0) return global;
        var sb = new StringBuilder();
        for (int r = 0; r < image.Rows; r++)
        {
            for (int c = 0; c < image.Cols; c++) sb.Append(FakeImageToken).Append($"<row_{r + 1}_col_{c + 1}>").Append(tokens);
            sb.Append('\n');
        }
        return sb.Append('\n').Append(global).ToString();
    }

    /// <summary>The tokenized replacement text; only its image tokens take encoder rows.</summary>
    public override int[] Replacement(ProcessedImage image) => encode(ReplacementText(image));

    /// <summary>The encoder rows: image_seq_len per tile.</summary>
    public override int NumImageTokens(ProcessedImage image) => image.Shape[0] * imageSeqLen;
}
