using Pipeline.Models.Multimodal;

namespace Pipeline.Models.Runner;

/// <summary>
/// An image or audio clip of a request as the runner sees it: its placeholder positions [Offset, Offset + Length), the
/// positions of those that take encoder rows (<see cref="IsEmbed"/>; null when all do) and its pixels or audio features.
/// </summary>
public sealed record MultiModalInput(string Hash, int Offset, int Length, ProcessedImage? Image, Multimodal.Audio.ProcessedAudio? Audio = null)
{
    int[]? _rows;

    public bool[]? IsEmbed { get; init; }

    /// <summary>The encoder row for prompt position <paramref name="position"/> of the range, or -1 where the position keeps its token embedding.</summary>
    public int FeatureRow(int position)
    {
        int i = position - Offset;
        if (IsEmbed == null) return i;
        if (_rows == null)
        {
            var rows = new int[IsEmbed.Length];
            for (int j = 0, n = 0; j < rows.Length; j++) rows[j] = IsEmbed[j] ? n++ : -1;
            _rows = rows;
        }
        return _rows[i];
    }
}
