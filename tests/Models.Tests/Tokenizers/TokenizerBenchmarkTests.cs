using Pipeline.Models.Tokenizers;
using Xunit.Abstractions;

namespace Pipeline.Models.Tests.Tokenizers;

public class TokenizerBenchmarkTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama2")]
    [InlineData("qwen2_5")]
    [InlineData("llama3_1")]
    public void BenchmarkRunsAndReportsPositiveNumbers(string name)
    {
        var tok = Fixtures.Tokenizer(name);
        string text = string.Join("\n", Fixtures.File(name).Cases.Select(c => c.Text));
        var (mbPerSecond, usPerToken) = TokenizerBenchmark.Run(tok, text, repeats: 20);
        output.WriteLine($"{name}: {mbPerSecond:F2} MB/s encode, {usPerToken:F2} us/token incremental");
        Assert.True(mbPerSecond > 0);
        Assert.True(usPerToken > 0);
    }
}
