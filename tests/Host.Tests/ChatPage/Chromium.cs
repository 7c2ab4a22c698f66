using System.Diagnostics;
using PuppeteerSharp;

namespace Pipeline.Host.Tests.ChatPage;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol by PuppeteerSharp. .ci/run installs it with
/// scripts/chromium/install.sh; the fixture runs the same script when no chromium is found, so `dotnet test` alone sets
/// up a fresh machine. PIPELINE_CHROMIUM names another executable. Where it cannot be installed the browser tests are
/// skipped, saying why, except under CI (CI=true), where that is a failure: CI must run them.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    public IBrowser? Browser { get; private set; }
    /// <summary>Why there is no browser (the tests skip with it), or null.</summary>
    public string? Unavailable { get; private set; }

    public async Task InitializeAsync()
    {
        string? why = null, path;
        if (Environment.GetEnvironmentVariable("PIPELINE_CHROMIUM") is { Length: > 0 } named)
        {
            path = File.Exists(named) ? named : null;
            why = $"PIPELINE_CHROMIUM names {named}, which does not exist";
        }
        else path = Candidates.FirstOrDefault(File.Exists) ?? Install(out why);
        if (path == null)
        {
            Unavailable = $"no chromium: {why}. Install it with scripts/chromium/install.sh (Debian's chromium) or set PIPELINE_CHROMIUM.";
            if (Environment.GetEnvironmentVariable("CI")?.ToLowerInvariant() is "true" or "1") throw new InvalidOperationException(Unavailable + " CI must run the browser tests.");
            return;
        }
        Browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            Timeout = 60_000,
            // Root in a container: no sandbox; no GPU; /dev/shm may be small.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--lang=en-US"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser != null) await Browser.CloseAsync();
    }

    static string? Install(out string why)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "scripts", "chromium", "install.sh"))) dir = dir.Parent;
        if (dir == null) { why = "scripts/chromium/install.sh not found above the test directory"; return null; }
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(dir.FullName, "scripts", "chromium", "install.sh"));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); why = "scripts/chromium/install.sh did not finish in 10 minutes"; return null; }
        why = $"scripts/chromium/install.sh exited {p.ExitCode}: {stderr.Result.Trim()} {stdout.Result.Trim()}".Trim();
        return p.ExitCode == 0 ? Candidates.FirstOrDefault(File.Exists) : null;
    }
}

[CollectionDefinition(Name)]
public sealed class ChromiumCollection : ICollectionFixture<Chromium>
{
    public const string Name = "chromium";
}
