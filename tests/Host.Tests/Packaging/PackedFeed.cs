namespace Pipeline.Host.Tests.Packaging;

/// <summary>
/// Packs Pipeline.Models, Pipeline.Actors, Pipeline.Streams, Pipeline.Hosting and the Pipeline.Cli tool (from the build
/// the tests run against: --no-build) into a local feed in a temp folder, once per test class, and builds
/// samples/Pipeline.Sample there against it: a project outside the repository, restored through a nuget.config naming
/// the feed and nuget.org. The version is unique per run, so the global package cache never serves an older pack;
/// the copies this run puts there are removed afterwards.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public static readonly string[] Packages = ["Pipeline.Models", "Pipeline.Actors", "Pipeline.Streams", "Pipeline.Hosting", "Pipeline.Cli"];
    static readonly TimeSpan Long = TimeSpan.FromMinutes(8);

    public string RepoRoot { get; } = FindRepoRoot();
    public string Dir { get; } = Directory.CreateTempSubdirectory("pipeline-feed").FullName;
    public string Feed => Path.Combine(Dir, "feed");
    public string SampleDir => Path.Combine(Dir, "sample");
    public string Version { get; } = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
    /// <summary>The built sample: bin/Debug/net10.0/Pipeline.Sample.dll.</summary>
    public string SampleDll => Path.Combine(SampleDir, "bin", "Debug", "net10.0", "Pipeline.Sample.dll");

    public PackedFeed()
    {
        // The configuration the tests (and so the src projects) were built in: bin/<Configuration>/net10.0.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        foreach (var project in new[] { "Models", "Actors", "Streams", "Hosting", "Host" })
            Dotnet.Check(RepoRoot, "dotnet", ["pack", $"src/{project}", "-c", configuration, "--no-build", "-o", Feed, $"-p:Version={Version}"], Long);
        File.WriteAllText(Path.Combine(Dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="pipeline-local" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        Directory.CreateDirectory(SampleDir);
        foreach (var f in new[] { "Pipeline.Sample.csproj", "Program.cs" })
            File.Copy(Path.Combine(RepoRoot, "samples", "Pipeline.Sample", f), Path.Combine(SampleDir, f));
        Dotnet.Check(SampleDir, "dotnet", ["build", "-c", "Debug", $"-p:PipelineVersion={Version}"], Long);
    }

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Pipeline.sln"))) return d.FullName;
        throw new InvalidOperationException("the repository root (Pipeline.sln) was not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Packages)
        {
            var extracted = Path.Combine(cache, id.ToLowerInvariant(), Version);
            try
            {
                if (Directory.Exists(extracted)) Directory.Delete(extracted, recursive: true);
                var idDir = Path.GetDirectoryName(extracted)!;
                if (Directory.Exists(idDir) && !Directory.EnumerateFileSystemEntries(idDir).Any()) Directory.Delete(idDir);
            }
            catch (IOException) { }
        }
    }
}
