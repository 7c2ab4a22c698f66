namespace Pipeline.Models.Forward;

/// <summary>
/// One request's M-RoPE positions (vLLM's mrope_positions and mrope_position_delta): temporal, height and width
/// positions of every prompt token, computed once from its images' grids, and the delta that continues them: a token
/// at 1-D position p past the prompt has all three positions p + <see cref="Delta"/>.
/// </summary>
public sealed class MRopePositions
{
    readonly int[] _t, _h, _w;

    MRopePositions(int[] t, int[] h, int[] w, int delta) { _t = t; _h = h; _w = w; Delta = delta; }

    public int Delta { get; }
    public int NumPromptTokens => _t.Length;

    /// <summary>The three positions of the token at 1-D position <paramref name="position"/>.</summary>
    public (int T, int H, int W) At(int position) => position < _t.Length
        ? (_t[position], _h[position], _w[position])
        : (position + Delta, position + Delta, position + Delta);

    /// <summary>
    /// transformers' get_rope_index for one prompt: text tokens count up on all three axes; an image's tokens (Length =
    /// t x h x w, in t, h, w order) sit at the next position plus their (t, h, w) index in the merged grid, and the text
    /// after it goes on from one past the image's largest position. The delta is that last position + 1 minus the
    /// prompt length.
    /// </summary>
    /// <param name="images">each image's first placeholder token and its merged grid (t, h/merge, w/merge)</param>
    public static MRopePositions ForPrompt(int numPromptTokens, IEnumerable<(int Offset, int T, int H, int W)> images)
    {
        var t = new int[numPromptTokens];
        var h = new int[numPromptTokens];
        var w = new int[numPromptTokens];
        int cursor = 0, next = 0;
        void Text(int until)
        {
            for (; cursor < until; cursor++, next++) t[cursor] = h[cursor] = w[cursor] = next;
        }
        foreach (var (offset, gt, gh, gw) in images.OrderBy(i => i.Offset))
        {
            int length = gt * gh * gw;
            if (offset < cursor || offset + length > numPromptTokens)
                throw new ArgumentException($"image tokens [{offset}, {offset + length}) overlap another image or leave the prompt ({numPromptTokens} tokens)");
            Text(offset);
            for (int i = 0; i < gt; i++)
                for (int j = 0; j < gh; j++)
                    for (int k = 0; k < gw; k++, cursor++)
                    {
                        t[cursor] = next + i;
                        h[cursor] = next + j;
                        w[cursor] = next + k;
                    }
            next += Math.Max(gt, Math.Max(gh, gw));
        }
        Text(numPromptTokens);
        // next is one past the largest position: the last text token's, or the last image's when the prompt ends on it.
        return new MRopePositions(t, h, w, next - numPromptTokens);
    }
}
