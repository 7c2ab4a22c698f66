using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>One real `pipeline serve --cluster-role ...` process on loopback ports (the executable built next to the tests).</summary>
public sealed class ClusterNode : IAsyncDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _output = new();

    public string Name { get; }
    public int ClusterPort { get; }
    public string Address => $"akka.tcp://pipeline@127.0.0.1:{ClusterPort}";

    ClusterNode(string name, int clusterPort, IEnumerable<string> args)
    {
        Name = name;
        ClusterPort = clusterPort;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Fast failure detection so the tests see a lost node within seconds.</summary>
    public static readonly string[] Timing = ["--cluster-heartbeat-pause", "2", "--cluster-down-after", "3", "--shutdown-timeout", "30", "--max-model-len", "512"];

    public static ClusterNode Start(string name, string role, int clusterPort, string seed, params string[] extra) =>
        new(name, clusterPort, ["serve", "--cluster-role", role, "--cluster-port", clusterPort.ToString(), "--cluster-seeds", seed, .. Timing, .. extra]);

    public IReadOnlyCollection<string> Output => _output;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public async Task<string> WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_output.FirstOrDefault(l => l.Contains(text)) is { } line) return line;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{Name}: no log line containing '{text}' within {timeout}; last lines:\n{string.Join("\n", _output.TakeLast(20))}");
    }

    public void Kill9() => _process.Kill(entireProcessTree: false);

    public async Task Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
        await kill.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
