using System.Text.Json.Nodes;
using Pipeline.Models.Forward;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Gemma 3 (Gemma3Processor): the chat template writes &lt;start_of_image&gt; once per image, and each becomes
/// "\n\n&lt;start_of_image&gt;" + mm_tokens_per_image x &lt;image_soft_token&gt; + "&lt;end_of_image&gt;\n\n". The processor
/// does this in the text before tokenizing; here it is done on token ids, so where the sequence's "\n\n" meets a newline
/// token of the prompt the two are joined into the one token the tokenizer would give ("\n" + "\n\n" = "\n\n\n",
/// "\n\n" + "\n\n" = "\n\n\n\n"), as vLLM's Gemma 3 processor does. The image's rows replace its soft tokens, which attend
/// to each other bidirectionally (transformers' token_type_ids blocks). With pan-and-scan each crop gets its own sequence.
/// </summary>
public sealed class Gemma3Placeholders : ImagePlaceholders
{
    readonly int _softTokenId, _eoiTokenId;
    readonly int? _nl1, _nl2, _nl3, _nl4;
    readonly Func<string, int[]>? _encode;
    int[]? _sequence;

    public int TokensPerImage { get; }
    public int SoftTokenId => _softTokenId;

    Gemma3Placeholders(ImageProcessor images, int boiTokenId, int softTokenId, int eoiTokenId, int tokensPerImage,
        Func<string, int?>? tokenIdOf, Func<string, int[]>? encode) : base(images, boiTokenId)
    {
        (_softTokenId, _eoiTokenId, TokensPerImage, _encode) = (softTokenId, eoiTokenId, tokensPerImage, encode);
        (_nl1, _nl2, _nl3, _nl4) = (tokenIdOf?.Invoke("\n"), tokenIdOf?.Invoke("\n\n"), tokenIdOf?.Invoke("\n\n\n"), tokenIdOf?.Invoke("\n\n\n\n"));
        if (_nl2 == null && encode == null)
            throw new MediaException("Gemma 3: the tokenizer has no '\\n\\n' token to build the image sequence with");
    }

    public static Gemma3Placeholders Create(JsonObject config, ImageProcessor images, Func<string, int?>? tokenIdOf, Func<string, int[]>? encode)
    {
        static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        int Id(string field, string alias, string token) => Int(config[field]) ?? Int(config[alias]) ?? tokenIdOf?.Invoke(token)
            ?? throw new MediaException($"Gemma 3: config.json has no {field} and the tokenizer has no '{token}'");
        int boi = Id("boi_token_index", "boi_token_id", "<start_of_image>");
        int eoi = Id("eoi_token_index", "eoi_token_id", "<end_of_image>");
        int soft = Id("image_token_index", "image_token_id", "<image_soft_token>");
        int n = Int(images.Config.Processor["image_seq_length"]) ?? Int(config["mm_tokens_per_image"]) ?? 256;
        return new Gemma3Placeholders(images, boi, soft, eoi, n, tokenIdOf, encode);
    }

    /// <summary>The soft tokens take the image's rows (the prompt's image token is &lt;start_of_image&gt;).</summary>
    public override int EmbedTokenId => _softTokenId;

    /// <summary>Soft tokens of the image and of each pan-and-scan crop.</summary>
    public override int NumImageTokens(ProcessedImage image) => (Crops(image) + 1) * TokensPerImage;

    static int Crops(ProcessedImage image) => image.Shape.Length == 4 ? image.Shape[0] - 1 : 0;

    const string FullSequenceStart = "\n\n<start_of_image>", FullSequenceEnd = "<end_of_image>\n\n";

    /// <summary>The ids of "\n\n&lt;start_of_image&gt;" + soft tokens + "&lt;end_of_image&gt;\n\n" (Gemma3Processor.full_image_sequence).</summary>
    public int[] ImageSequence() => _sequence ??= _nl2 is int nl2
        ? [nl2, ImageTokenId, .. Enumerable.Repeat(_softTokenId, TokensPerImage), _eoiTokenId, nl2]
        : _encode!(FullSequence);

    string FullSequence => FullSequenceStart + string.Concat(Enumerable.Repeat("<image_soft_token>", TokensPerImage)) + FullSequenceEnd;

    /// <summary>
    /// Gemma3Processor.replace_image_token: the image sequence, or with pan-and-scan crops "Here is the original image "
    /// + sequence + " and here are some crops to help you see better " + one sequence per crop (joined by spaces), as the
    /// tokenizer tokenizes that text.
    /// </summary>
    public override int[] Replacement(ProcessedImage image)
    {
        int crops = Crops(image);
        if (crops == 0) return ImageSequence();
        var encode = _encode ?? throw new MediaException("Gemma 3 pan-and-scan needs the tokenizer to spell its crops' text");
        return encode($"Here is the original image {FullSequence} and here are some crops to help you see better "
            + string.Join(" ", Enumerable.Repeat(FullSequence, crops)));
    }

    public override (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        int found = promptIds.Count(id => id == ImageTokenId);
        if (found != images.Count)
            throw new MediaException($"the prompt has {found} image placeholder token(s) (id {ImageTokenId}) but {images.Count} image(s) were given");
        var replacements = images.Select(Replacement).ToArray();
        var ids = new List<int>(promptIds.Count + replacements.Sum(r => r.Length));
        var ranges = new PlaceholderRange[images.Count];
        int k = 0;
        bool afterImage = false;
        foreach (var id in promptIds)
        {
            if (id != ImageTokenId)
            {
                Append(ids, id, afterImage);
                afterImage = false;
                continue;
            }
            var r = replacements[k];
            int origin = Append(ids, r[0], junction: true);
            for (int i = 1; i < r.Length; i++) ids.Add(r[i]);
            // The range runs from the first soft token to the last; text between crops keeps its embeddings.
            int first = Array.IndexOf(r, _softTokenId), last = Array.LastIndexOf(r, _softTokenId);
            if (first < 0) throw new MediaException("Gemma 3: the image sequence has no soft tokens (the tokenizer split '<image_soft_token>')");
            var isEmbed = r[first..(last + 1)].Select(t => t == _softTokenId).ToArray();
            ranges[k++] = new PlaceholderRange(origin + first, last - first + 1, isEmbed.All(x => x) ? null : isEmbed);
            afterImage = true;
        }
        return (ids.ToArray(), ranges);
    }

    /// <summary>Each run of soft tokens (an image, or one crop) attends to itself in both directions (transformers' token_type_ids blocks).</summary>
    public override IReadOnlyList<PositionRange> BidirectionalRanges(int promptLength, IReadOnlyList<PlaceholderRange> imageRanges)
    {
        var result = new List<PositionRange>();
        foreach (var r in imageRanges)
        {
            if (r.IsEmbed == null)
            {
                result.Add(new PositionRange(r.Offset, r.Length));
                continue;
            }
            for (int i = 0; i < r.Length; i++)
            {
                if (!r.IsEmbed[i] || (i > 0 && r.IsEmbed[i - 1])) continue;
                int j = i;
                while (j < r.Length && r.IsEmbed[j]) j++;
                result.Add(new PositionRange(r.Offset + i, j - i));
            }
        }
        return result;
    }

    /// <summary>
    /// Appends <paramref name="id"/>; at a <paramref name="junction"/> of prompt and image sequence it is joined with the
    /// last token when both are newlines the tokenizer has as one token. Returns its index.
    /// </summary>
    int Append(List<int> ids, int id, bool junction)
    {
        if (junction && ids.Count > 0 && Join(ids[^1], id) is int joined)
        {
            ids[^1] = joined;
            return ids.Count - 1;
        }
        ids.Add(id);
        return ids.Count - 1;
    }

    int? Join(int a, int b) =>
        (a == _nl1 && b == _nl2) || (a == _nl2 && b == _nl1) ? _nl3
        : a == _nl2 && b == _nl2 ? _nl4
        : null;
}
