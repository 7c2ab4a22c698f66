using System.Diagnostics;
using System.Net.Sockets;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>
/// The RabbitMQ broker the queue tests run against: .ci/run installs and starts Debian's rabbitmq-server with
/// scripts/rabbitmq/start.sh, and the tests run the same script when no local broker listens. PIPELINE_TEST_AMQP
/// overrides the URL. No broker is a test failure, not a skip.
/// </summary>
public static class Broker
{
    public static string Url => Environment.GetEnvironmentVariable("PIPELINE_TEST_AMQP") is { Length: > 0 } u ? u : "amqp://guest:guest@localhost:5672/";

    static readonly object StartLock = new();
    static string? _startFailure;

    /// <summary>
    /// Checks the broker listens; when the default local one does not, starts it once with scripts/rabbitmq/start.sh (as
    /// .ci/run does), so `dotnet test Pipeline.sln` alone sets up a fresh machine.
    /// </summary>
    public static void EnsureRunning()
    {
        var uri = new Uri(Url);
        if (Listening(uri, out var error)) return;
        if (Environment.GetEnvironmentVariable("PIPELINE_TEST_AMQP") is not { Length: > 0 })
        {
            lock (StartLock)
            {
                _startFailure ??= StartLocalBroker();
                if (Listening(uri, out error)) return;
            }
        }
        throw new InvalidOperationException($"no RabbitMQ broker at {uri.Host}:{uri.Port} ({error}{(_startFailure is { Length: > 0 } f ? "; " + f : "")}). " +
            "The queue tests need one: run scripts/rabbitmq/start.sh (installs and starts Debian's rabbitmq-server), or set PIPELINE_TEST_AMQP.");
    }

    static bool Listening(Uri uri, out string error)
    {
        error = "";
        try
        {
            using var tcp = new TcpClient();
            if (tcp.ConnectAsync(uri.Host, uri.IsDefaultPort ? 5672 : uri.Port).Wait(TimeSpan.FromSeconds(5))) return true;
            error = "connection timed out";
        }
        catch (Exception e) { error = e.GetBaseException().Message; }
        return false;
    }

    /// <summary>Runs the repository's start script; returns "" on success, else why it failed.</summary>
    static string StartLocalBroker()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "scripts", "rabbitmq", "start.sh"))) dir = dir.Parent;
        if (dir == null) return "scripts/rabbitmq/start.sh not found above the test directory";
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(dir.FullName, "scripts", "rabbitmq", "start.sh"));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); return "scripts/rabbitmq/start.sh did not finish in 10 minutes"; }
        return p.ExitCode == 0 ? "" : $"scripts/rabbitmq/start.sh failed ({p.ExitCode}): {stderr.Result.Trim()} {stdout.Result.Trim()}";
    }

    /// <summary>Queue and exchange names no other test uses.</summary>
    public static QueueTopology UniqueTopology(string prefix, ushort prefetch = 64)
    {
        var id = $"test.{prefix}.{Guid.NewGuid().ToString("N")[..8]}";
        return new QueueTopology { RequestQueue = id + ".requests", EventsExchange = id + ".events", DeadLetterQueue = id + ".dlq", Prefetch = prefetch };
    }

    public static string Ctl(params string[] args)
    {
        var psi = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("rabbitmqctl " + string.Join(" ", args)); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"rabbitmqctl {string.Join(" ", args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }

    /// <summary>Has the broker close every connection whose client-provided name contains <paramref name="name"/>; returns how many.</summary>
    public static int CloseConnections(string name)
    {
        int n = 0;
        foreach (var line in Ctl("list_connections", "-q", "-s", "pid", "client_properties").Split('\n'))
        {
            if (!line.Contains($"\"{name}")) continue;
            Ctl("close_connection", line.Split('\t')[0].Trim(), "test: dropping the connection");
            n++;
        }
        return n;
    }

    /// <summary>Stops and starts the RabbitMQ application: every connection drops, non-durable queues are gone, durable ones stay.</summary>
    public static void Restart()
    {
        Ctl("stop_app");
        Ctl("start_app");
        Ctl("await_startup");
    }

    public static void DeleteQueues(QueueTopology t)
    {
        foreach (var q in new[] { t.RequestQueue, t.DeadLetterQueue })
            try { Ctl("delete_queue", q); } catch (InvalidOperationException) { }
    }
}
