using System.Diagnostics;

namespace Pipeline.Host.Tests.Packaging;

/// <summary>Runs a command (dotnet, a built app, an installed tool) in a folder and captures its output.</summary>
public static class Dotnet
{
    public static (int Exit, string Output) Run(string workingDir, string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(" ", args)} did not finish in {timeout}"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs it and fails with its output when it does not exit 0.</summary>
    public static string Check(string workingDir, string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var (exit, output) = Run(workingDir, file, args, timeout);
        if (exit != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} exited {exit}:\n{output}");
        return output;
    }
}
