using System.Diagnostics;

namespace Pipeline.Models.Tests.Registry;

/// <summary>
/// samples/Pipeline.ModelPlugin built once per test class, in a temp folder (as a project outside the repository),
/// against the Pipeline.Models and TorchSharp these tests run on.
/// </summary>
public sealed class SamplePluginBuild : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("pipeline-model-plugin").FullName;
    public string Dll => Path.Combine(Dir, "bin", "Release", "net10.0", "Pipeline.ModelPlugin.dll");

    public SamplePluginBuild()
    {
        var sample = Path.Combine(RepoRoot(), "samples", "Pipeline.ModelPlugin");
        foreach (var f in Directory.GetFiles(sample).Where(f => f.EndsWith(".cs") || f.EndsWith(".csproj")))
            File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", "-c", "Release", "--nologo", $"-p:PipelineModelsDir={AppContext.BaseDirectory.TrimEnd('/')}" }) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("building samples/Pipeline.ModelPlugin took over 5 minutes"); }
        if (p.ExitCode != 0 || !File.Exists(Dll)) throw new InvalidOperationException($"building samples/Pipeline.ModelPlugin failed:\n{stdout.Result}{stderr.Result}");
    }

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Pipeline.sln"))) return d.FullName;
        throw new InvalidOperationException("the repository root (Pipeline.sln) was not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
