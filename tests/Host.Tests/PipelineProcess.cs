using System.Diagnostics;

namespace Pipeline.Host.Tests;

/// <summary>Runs the real `pipeline` executable (built next to the tests) and captures its output.</summary>
public static class PipelineProcess
{
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => RunWithEnvironment(new Dictionary<string, string?>(), args);

    /// <summary>Runs with environment variables set (a null value removes one).</summary>
    public static (int Exit, string Stdout, string Stderr) RunWithEnvironment(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in environment)
            if (v == null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("pipeline did not finish in 120 s: " + string.Join(" ", args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);
}
