using System.Diagnostics;

namespace Pipeline.Host.Tests.Progress;

/// <summary>Progress while `pipeline generate` loads its model (issue 15, point 8): log lines, a terminal bar, or nothing.</summary>
public class LoadProgressCliTests
{
    static (int Exit, string Stdout, string Stderr) Generate(string? progress)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "pipeline.dll"), "generate", "--prompt", "The whale", "--max-tokens", "2", "--temperature", "0" })
            psi.ArgumentList.Add(a);
        if (progress != null) psi.Environment["PIPELINE_PROGRESS"] = progress;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("pipeline generate did not finish"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void LogModeWritesProgressLinesToStderrAndLeavesStdoutAlone()
    {
        var (exit, stdout, stderr) = Generate("log");
        Assert.True(exit == 0, stderr);
        Assert.Contains("pipeline-tiny-en: loading weights", stderr);
        Assert.Matches(@"of 2\d\.\d MiB", stderr);
        Assert.Contains("pipeline-tiny-en: done in", stderr);
        Assert.DoesNotContain("loading weights", stdout);
    }

    [Fact]
    public void AutoModeStaysQuietWhenStderrIsNotATerminal()
    {
        var (exit, _, stderr) = Generate(null);
        Assert.True(exit == 0, stderr);
        Assert.DoesNotContain("loading weights", stderr);
    }

    [Fact]
    public async Task InATerminalAProgressBarIsDrawn()
    {
        if (!File.Exists("/usr/bin/script")) return;   // util-linux's script gives the command a terminal
        var cmd = $"dotnet {Path.Combine(AppContext.BaseDirectory, "pipeline.dll")} generate --prompt 'The whale' --max-tokens 2 --temperature 0";
        var psi = new ProcessStartInfo("/usr/bin/script", ["-qec", cmd, "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment.Remove("PIPELINE_PROGRESS");
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("loading weights", output);
        Assert.Contains("\u001b[", output);   // drawn with ANSI sequences: the bar, then cleared
        Assert.Contains("%", output);
    }
}
