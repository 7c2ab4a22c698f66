namespace Pipeline.Models.Multimodal;

/// <summary>
/// Qwen2.5-VL's window attention layout (transformers' get_window_index): the merged tokens of each frame grouped
/// into windows of side <c>windowSize</c> merged tokens, row by row of windows, raster order inside each; the edge
/// windows are smaller. <see cref="Index"/> lists merged-token indices in window order, <see cref="Boundaries"/> the
/// cumulative patch counts at each window's end (starting with 0), so each window is one attention segment.
/// </summary>
public sealed record VisionWindows(long[] Index, int[] Boundaries)
{
    public static VisionWindows For(int t, int h, int w, int mergeSize, int windowSize)
    {
        int gh = h / mergeSize, gw = w / mergeSize, unit = mergeSize * mergeSize;
        if (windowSize <= 0) throw new ArgumentException($"window size {windowSize} (in merged tokens) must be positive");
        var index = new List<long>(t * gh * gw);
        var bounds = new List<int> { 0 };
        for (int f = 0; f < t; f++)
            for (int r0 = 0; r0 < gh; r0 += windowSize)
                for (int c0 = 0; c0 < gw; c0 += windowSize)
                {
                    int rows = Math.Min(windowSize, gh - r0), cols = Math.Min(windowSize, gw - c0);
                    for (int r = r0; r < r0 + rows; r++)
                        for (int c = c0; c < c0 + cols; c++) index.Add((long)f * gh * gw + r * gw + c);
                    bounds.Add(bounds[^1] + rows * cols * unit);
                }
        return new VisionWindows(index.ToArray(), bounds.ToArray());
    }
}
