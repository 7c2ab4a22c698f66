using Pipeline.Host.Progress;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Host.Tests.Progress;

/// <summary>The checkpoint meter (issue 15, point 8) follows the loader through the memory-mapped shards.</summary>
public class CheckpointReadMeterTests
{
    [Fact]
    public void ReadBytesGrowsAsTensorsAreLoadedAndKeepsItsMaximum()
    {
        if (!File.Exists("/proc/self/smaps")) return;   // the meter is Linux-only
        var dir = Directory.CreateTempSubdirectory("meter").FullName;
        try
        {
            // Two shards of 4 MiB each, so pages already read can be told from pages not yet read.
            const int n = 1 << 20;
            for (int s = 0; s < 2; s++)
                Pipeline.Models.Tests.Loading.SafetensorsTestWriter.Write(Path.Combine(dir, $"model-0000{s + 1}-of-00002.safetensors"),
                    [($"w{s}", new long[] { n }, Enumerable.Range(0, n).Select(i => (float)i).ToArray())]);
            var meter = new CheckpointReadMeter(dir);
            Assert.True(meter.TotalBytes > 8L * n * 0.99, $"total {meter.TotalBytes}");

            using (var store = WeightStore.Open(dir))
            {
                Assert.True(meter.Fraction() < 0.25, $"before loading: {meter.Fraction():0.00}");
                using (store.Load("w0", [n], ScalarType.Float32, CPU)) { }
                var half = meter.Fraction();
                Assert.InRange(half, 0.4, 0.75);
                using (store.Load("w1", [n], ScalarType.Float32, CPU)) { }
                Assert.True(meter.Fraction() > 0.95, $"after loading: {meter.Fraction():0.00}");
            }
            // The mappings are gone once the store is disposed; the meter keeps what it saw.
            Assert.True(meter.Fraction() > 0.95);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void NoDirectoryMeansNoFraction()
    {
        var meter = new CheckpointReadMeter(null);
        Assert.Equal(0, meter.TotalBytes);
        Assert.Equal(0, meter.Fraction());
    }
}
