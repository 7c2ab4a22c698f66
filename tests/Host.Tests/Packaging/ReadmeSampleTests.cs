namespace Pipeline.Host.Tests.Packaging;

/// <summary>The README's library section shows exactly samples/Pipeline.Sample, the project PackagedSampleTests builds and runs.</summary>
public class ReadmeSampleTests
{
    static string RepoFile(params string[] parts)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Pipeline.sln"))) return Path.Combine([d.FullName, .. parts]);
        throw new InvalidOperationException("repository root not found");
    }

    [Theory]
    [InlineData("Program.cs")]
    [InlineData("Pipeline.Sample.csproj")]
    public void ReadmeShowsTheSampleVerbatim(string file)
    {
        var readme = File.ReadAllText(RepoFile("README.md"));
        var library = readme[readme.IndexOf("## Library use", StringComparison.Ordinal)..readme.IndexOf("## Supported models", StringComparison.Ordinal)];
        Assert.Contains(File.ReadAllText(RepoFile("samples", "Pipeline.Sample", file)).TrimEnd('\n'), library);
        foreach (var package in new[] { "Pipeline.Models", "Pipeline.Actors", "Pipeline.Streams", "Pipeline.Hosting", "Pipeline.Cli" })
            Assert.Contains(package, library);
    }
}
