using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Pipeline.Host.Tests;

/// <summary>
/// Starts the real `pipeline serve` on a loopback port over a tiny Llama-shaped model with random (seeded, dummy)
/// weights and the real Qwen2.5 tokenizer and chat template, and stops it after the tests.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    Process? _process;
    public virtual string ModelDir { get; } = MakeModelDir();
    protected virtual string[] ServeArgs => ["--api-key", ApiKey, .. ModelArgs];
    protected virtual IEnumerable<string> CommandArgs =>
        new[] { "serve", ModelDir, "--port", Port.ToString(), "--served-model-name", ModelName, "--max-num-seqs", "256" }.Concat(ServeArgs);
    /// <summary>Environment variables the server starts with (PIPELINE_* set options).</summary>
    protected virtual IReadOnlyDictionary<string, string> ServerEnvironment => new Dictionary<string, string>();
    public int Port { get; } = FreePort();
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };
    public const string ModelName = "tiny-chat";
    public const string ApiKey = "test-key";
    public static readonly string[] ModelArgs = ["--load-format", "dummy", "--dtype", "float32", "--max-model-len", "256"];

    static string MakeModelDir()
    {
        var dir = Directory.CreateTempSubdirectory("chatmodel").FullName;
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(PipelineProcess.Fixture("llama"), "config.json")))!.AsObject();
        cfg["vocab_size"] = 151665;
        cfg["eos_token_id"] = 151645;
        cfg["bos_token_id"] = 151643;
        cfg["max_position_embeddings"] = 256;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        var tok = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", "qwen2_5");
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(tok, f), Path.Combine(dir, f));
        return dir;
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    /// <summary>The server's stdout and stderr lines so far (its log).</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>Waits up to <paramref name="timeout"/> for a log line containing <paramref name="text"/>.</summary>
    public async Task<string> WaitForOutput(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_output.FirstOrDefault(l => l.Contains(text)) is { } line) return line;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no server log line containing '{text}' within {timeout}");
    }

    /// <summary>The server's process id (its RabbitMQ connection is named pipeline-serve-PID).</summary>
    public int ProcessId => _process?.Id ?? 0;

    public virtual async Task InitializeAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in CommandArgs) psi.ArgumentList.Add(a);
        foreach (var (k, v) in ServerEnvironment) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"server exited with {_process.ExitCode}");
            try
            {
                var r = await Http.GetAsync(BaseUrl + "/health");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException("server did not become healthy");
    }

    /// <summary>Sends SIGTERM (graceful shutdown) and waits for the server to exit; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", ProcessId.ToString()])) await kill.WaitForExitAsync();
        await _process!.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public bool HasExited => _process?.HasExited ?? true;

    /// <summary>Waits for the server to exit on its own; returns its exit code.</summary>
    protected async Task<int> ExitAsync(TimeSpan timeout)
    {
        await _process!.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public virtual async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        Http.Dispose();
    }
}

/// <summary>The tiny fixture model as it is: no tokenizer files.</summary>
public sealed class NoTokenizerServer : ServerFixture
{
    public override string ModelDir => PipelineProcess.Fixture("llama");
    protected override string[] ServeArgs => ["--dtype", "float32"];
}
