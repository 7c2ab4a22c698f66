using TorchSharp;

namespace Pipeline.Models.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }
}
