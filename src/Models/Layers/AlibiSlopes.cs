namespace Pipeline.Models.Layers;

/// <summary>
/// Per-head ALiBi slopes (Press et al., "Train Short, Test Long"): attention adds slope_h * (key position - query
/// position) to each score. Two published recipes exist for head counts that are not a power of two.
/// </summary>
public static class AlibiSlopes
{
    /// <summary>
    /// BLOOM's (and vLLM's `_get_alibi_slopes`): the geometric sequence 2^(-8/n)^i for the largest power of two
    /// n ≤ heads, then the odd terms of the sequence for 2n for the remaining heads.
    /// </summary>
    public static float[] Bloom(int numHeads)
    {
        if (numHeads <= 0) throw new ArgumentOutOfRangeException(nameof(numHeads), "ALiBi needs at least one head");
        int closest = 1 << (int)Math.Floor(Math.Log2(numHeads));
        double ratio = Math.Pow(2, -8.0 / closest);
        var slopes = new float[numHeads];
        for (int i = 0; i < closest; i++) slopes[i] = (float)Math.Pow(ratio, i + 1);
        double extraRatio = Math.Pow(2, -4.0 / closest);
        for (int i = 0; i < numHeads - closest; i++) slopes[closest + i] = (float)Math.Pow(extraRatio, 2 * i + 1);
        return slopes;
    }

    /// <summary>
    /// MPT's (`gen_slopes`): 2^-(i * alibi_bias_max / n) for i = 1..n with n the next power of two ≥ heads; when heads
    /// is not a power of two, the odd-indexed slopes then the even-indexed ones, cut to the head count.
    /// </summary>
    public static float[] Mpt(int numHeads, double alibiBiasMax = 8)
    {
        if (numHeads <= 0) throw new ArgumentOutOfRangeException(nameof(numHeads), "ALiBi needs at least one head");
        int padded = 1 << (int)Math.Ceiling(Math.Log2(numHeads));
        var all = Enumerable.Range(1, padded).Select(i => (float)(1.0 / Math.Pow(2, i * alibiBiasMax / padded))).ToArray();
        if (padded == numHeads) return all;
        return all.Where((_, i) => i % 2 == 1).Concat(all.Where((_, i) => i % 2 == 0)).Take(numHeads).ToArray();
    }
}
