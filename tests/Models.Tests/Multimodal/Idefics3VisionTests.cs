using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>The Idefics3 connector's pixel shuffle layout and the vision embeddings' bucketed positions on whole tiles.</summary>
public class Idefics3VisionTests
{
    [Theory]
    [InlineData(4, 2, 3)]
    [InlineData(8, 4, 2)]
    public void Pixel_shuffle_puts_each_block_in_one_row_rows_of_the_block_first(int side, int s, int d)
    {
        using var x = arange(side * side * d, ScalarType.Float32).reshape(1, side * side, d);
        using var y = Idefics3Connector.PixelShuffle(x, s);
        Assert.Equal(new long[] { 1, side * side / (s * s), d * s * s }, y.shape);
        var got = y.data<float>().ToArray();
        // transformers' pixel_shuffle: output row (bi, bj), feature m = x[bi*s + m/(d*s), bj*s + (m % (d*s))/d, m % d]
        for (int bi = 0; bi < side / s; bi++)
            for (int bj = 0; bj < side / s; bj++)
                for (int m = 0; m < d * s * s; m++)
                {
                    int i = bi * s + m / (d * s), j = bj * s + m % (d * s) / d;
                    Assert.Equal((i * side + j) * d + m % d, got[(bi * (side / s) + bj) * d * s * s + m]);
                }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Whole_tile_positions_are_the_grid_in_row_major_order(int n)
    {
        var o = new SiglipVisionOptions(8, 16, 1, 2, n * 2, 2, 3, 1e-6, "gelu_pytorch_tanh");
        using var vision = new Idefics3VisionTransformer(o, new DummyWeightSource(), "", ScalarType.Float32, CPU);
        using var ids = vision.PositionIds(n, n, CPU);
        Assert.Equal(Enumerable.Range(0, n * n).Select(i => (long)i), ids.data<long>().ToArray());
        using var half = vision.PositionIds(n / 2, n / 2, CPU);
        // a tile of half the patches per side spreads over the grid: every other row and column
        Assert.Equal(Enumerable.Range(0, n / 2).SelectMany(r => Enumerable.Range(0, n / 2).Select(c => (long)(2 * r * n + 2 * c))), half.data<long>().ToArray());
        using var pixels = randn(3, 3, n * 2, n * 2);
        using var hidden = vision.Forward(pixels);
        Assert.Equal(new long[] { 3, n * n, 8 }, hidden.shape);
    }
}
