using Pipeline.Models.Layers;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// ALiBi slopes for head counts the fixtures (4 heads) do not reach: BLOOM's against the ALiBi paper's reference
/// recipe (ofirpress/attention_with_linear_biases, get_slopes), MPT's against its gen_slopes worked by hand.
/// </summary>
public class AlibiSlopesTests
{
    // The paper's recursion: a geometric sequence for powers of two; otherwise the closest power of two's sequence,
    // then every other slope of the sequence for twice that many heads.
    static double[] PaperSlopes(int n)
    {
        static double[] PowerOfTwo(int n)
        {
            double start = Math.Pow(2, -Math.Pow(2, -(Math.Log2(n) - 3)));
            return Enumerable.Range(0, n).Select(i => start * Math.Pow(start, i)).ToArray();
        }
        if (Math.Log2(n) % 1 == 0) return PowerOfTwo(n);
        int closest = (int)Math.Pow(2, Math.Floor(Math.Log2(n)));
        return PowerOfTwo(closest).Concat(PaperSlopes(2 * closest).Where((_, i) => i % 2 == 0).Take(n - closest)).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(12)]
    [InlineData(16)]
    [InlineData(40)]
    [InlineData(112)]
    public void BloomSlopesFollowThePaper(int heads)
    {
        var expected = PaperSlopes(heads);
        var slopes = AlibiSlopes.Bloom(heads);
        Assert.Equal(heads, slopes.Length);
        for (int h = 0; h < heads; h++) Assert.Equal(expected[h], slopes[h], expected[h] * 1e-6);
    }

    [Fact]
    public void MptSlopesInterleaveThePaddedSequence()
    {
        // 6 heads pad to 8: 2^-1 .. 2^-8; odd-indexed slopes first, then even-indexed, first six kept.
        Assert.Equal(new[] { 1 / 4f, 1 / 16f, 1 / 64f, 1 / 256f, 1 / 2f, 1 / 8f }, AlibiSlopes.Mpt(6, 8));
        Assert.Equal(new[] { 1 / 4f, 1 / 16f, 1 / 64f, 1 / 256f }, AlibiSlopes.Mpt(4, 8));
        Assert.Equal(new[] { 1 / 2f, 1 / 4f, 1 / 8f, 1 / 16f }, AlibiSlopes.Mpt(4, 4));
    }
}
