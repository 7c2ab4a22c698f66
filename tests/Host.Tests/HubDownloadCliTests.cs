using System.Text.Json;
using Pipeline.Models.Tests.Loading.Hub;

namespace Pipeline.Host.Tests;

/// <summary>`pipeline generate ORG/NAME` downloads from a Hub (a real loopback server) and matches transformers; offline it uses the cache.</summary>
public sealed class HubDownloadCliTests : IDisposable
{
    readonly FakeHubServer _hub = new();
    readonly string _cache = Directory.CreateTempSubdirectory("hfcli").FullName;

    // HF_TOKEN_PATH points nowhere so a login token of the machine's user is never read by these tests.
    Dictionary<string, string?> Env(bool offline = false, string? tokenPath = null) => new()
    {
        ["HF_ENDPOINT"] = _hub.Endpoint, ["HF_HUB_CACHE"] = _cache, ["HF_HOME"] = null, ["HF_TOKEN"] = null,
        ["HF_TOKEN_PATH"] = tokenPath ?? Path.Combine(_cache, "no-login-token"), ["HUGGING_FACE_HUB_TOKEN"] = null, ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = null,
        ["HF_HUB_OFFLINE"] = offline ? "1" : null, ["VLLM_USE_MODELSCOPE"] = null, ["PIPELINE_PROGRESS"] = "log",
    };

    [Fact]
    public void GenerateDownloadsTheModelThenRunsOfflineFromTheCache()
    {
        var fixture = PipelineProcess.Fixture("qwen3-qknorm");
        var files = Directory.GetFiles(fixture).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        var commit = _hub.AddCommit("test-org/qwen3-tiny", "main", files);
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture, "expected.json"))).RootElement.GetProperty("prompts")[0];
        var prompt = string.Join(",", expected.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()));
        string[] args = ["generate", "test-org/qwen3-tiny", "--dtype", "float32", "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--output", "json", "--prompt-ids", prompt];

        var (exit, stdout, stderr) = PipelineProcess.RunWithEnvironment(Env(), args);
        Assert.True(exit == 0, stderr);
        Assert.Contains("test-org/qwen3-tiny from the Hugging Face Hub: done", stderr);
        var ids = JsonDocument.Parse(stdout.Trim()).RootElement.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32());
        Assert.Equal(expected.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()), ids);
        Assert.True(File.Exists(Path.Combine(_cache, "models--test-org--qwen3-tiny", "snapshots", commit, "model.safetensors")));

        _hub.ClearRequests();
        var offline = PipelineProcess.RunWithEnvironment(Env(offline: true), args);
        Assert.True(offline.Exit == 0, offline.Stderr);
        Assert.Equal(stdout, offline.Stdout);
        Assert.Empty(_hub.Requests);

        var missing = PipelineProcess.RunWithEnvironment(Env(offline: true), "generate", "test-org/not-cached", "--prompt-ids", "1,2");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("error: model 'test-org/not-cached'", missing.Stderr);
        Assert.Contains("HF_HUB_OFFLINE", missing.Stderr);
    }

    [Fact]
    public void DownloadCommandPrintsTheSnapshotAndNamesAMissingModel()
    {
        var commit = _hub.AddCommit("test-org/files", "main", new() { ["config.json"] = "{}"u8.ToArray(), ["model.safetensors"] = new byte[1000] });
        var dir = Directory.CreateTempSubdirectory("dl").FullName;
        var (exit, stdout, stderr) = PipelineProcess.RunWithEnvironment(Env(), "download", "test-org/files", "--download-dir", dir);
        Assert.True(exit == 0, stderr);
        Assert.Equal(Path.Combine(dir, "models--test-org--files", "snapshots", commit), stdout.Trim());

        var missing = PipelineProcess.RunWithEnvironment(Env(), "download", "test-org/nope");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("'test-org/nope'", missing.Stderr);
        Assert.Contains("HTTP 401", missing.Stderr);
    }

    [Fact]
    public void DownloadUsesTheHuggingfaceCliLoginTokenFile()
    {
        var commit = _hub.AddCommit("test-org/gated", "main", new() { ["config.json"] = "{}"u8.ToArray(), ["model.safetensors"] = new byte[1000] }, isPrivate: true);
        var denied = PipelineProcess.RunWithEnvironment(Env(), "download", "test-org/gated");
        Assert.Equal(1, denied.Exit);
        Assert.Contains("HTTP 401", denied.Stderr);
        Assert.Contains("huggingface-cli login", denied.Stderr);

        var tokenFile = Path.Combine(_cache, "login", "token");
        Directory.CreateDirectory(Path.GetDirectoryName(tokenFile)!);
        File.WriteAllText(tokenFile, FakeHubServer.Token + "\n");
        var (exit, stdout, stderr) = PipelineProcess.RunWithEnvironment(Env(tokenPath: tokenFile), "download", "test-org/gated");
        Assert.True(exit == 0, stderr);
        Assert.Equal(Path.Combine(_cache, "models--test-org--gated", "snapshots", commit), stdout.Trim());

        var env = PipelineProcess.RunWithEnvironment(Env(tokenPath: tokenFile), "env", "--device", "cpu");
        Assert.Contains($"token from {tokenFile}", env.Stdout);
        Assert.DoesNotContain(FakeHubServer.Token, env.Stdout);
    }

    [Fact]
    public void EnvSaysWhichTokenizerPathAModelUses()
    {
        var sp = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-sp", "sp_unigram");
        var (exit, stdout, stderr) = PipelineProcess.RunWithEnvironment(Env(), "env", sp, "--device", "cpu");
        Assert.True(exit == 0, stderr);
        Assert.Contains("Model tokenizer:   tokenizer.model (SentencePiece Unigram, byte fallback, Microsoft.ML.Tokenizers)", stdout);
        Assert.Contains($"Model hub:         Hugging Face Hub at {_hub.Endpoint}", stdout);
    }

    public void Dispose()
    {
        _hub.Dispose();
        try { Directory.Delete(_cache, recursive: true); } catch (IOException) { }
    }
}
