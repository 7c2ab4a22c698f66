using System.Text;
using Pipeline.Models.Loading.Hub;

namespace Pipeline.Models.Tests.Loading.Hub;

/// <summary>Downloads from the Hugging Face Hub's routes, served by a real HTTP server on loopback.</summary>
public sealed class HubDownloadTests : IDisposable
{
    const string RepoId = "test-org/tiny-model";
    readonly FakeHubServer _hub = new();
    readonly string _cache = Directory.CreateTempSubdirectory("hfcache").FullName;
    readonly byte[] _weights = RandomBytes(300_000, 1);
    readonly string _commit;

    public HubDownloadTests()
    {
        _commit = _hub.AddCommit(RepoId, "main", Files(_weights, "{\"architectures\":[\"LlamaForCausalLM\"],\"v\":1}"));
    }

    static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    static Dictionary<string, byte[]> Files(byte[] weights, string config) => new()
    {
        ["config.json"] = Encoding.UTF8.GetBytes(config),
        ["tokenizer.json"] = Encoding.UTF8.GetBytes("{\"model\":{\"type\":\"BPE\"}}"),
        ["tokenizer_config.json"] = Encoding.UTF8.GetBytes("{}"),
        ["model.safetensors"] = weights,
        ["pytorch_model.bin"] = RandomBytes(1000, 2),
        ["original/consolidated.00.pth"] = RandomBytes(1000, 3),
        ["README.md"] = Encoding.UTF8.GetBytes("# tiny"),
        [".gitattributes"] = Encoding.UTF8.GetBytes("*.safetensors filter=lfs"),
        ["1_Pooling/config.json"] = Encoding.UTF8.GetBytes("{\"pooling_mode_mean_tokens\":true}"),
    };

    HubOptions Options(string? token = null, bool offline = false) =>
        new() { Endpoint = _hub.Endpoint, CacheDir = _cache, Token = token, Offline = offline, MaxWorkers = 4, Timeout = TimeSpan.FromSeconds(20) };

    string Download(HubOptions? options = null, string? revision = null, int retries = 3)
    {
        using var d = new SnapshotDownloader(options ?? Options()) { MaxRetries = retries };
        return d.Download(RepoId, revision);
    }

    string RepoDir => Path.Combine(_cache, "models--test-org--tiny-model");

    IEnumerable<string> FileRequests => _hub.Requests.Where(r => !r.Path.StartsWith("/api/")).Select(r => Uri.UnescapeDataString(r.Path));

    [Fact]
    public void FirstDownloadWritesTheHubCacheLayoutWithOnlyTheNeededFiles()
    {
        var dir = Download();

        Assert.Equal(Path.Combine(RepoDir, "snapshots", _commit), dir);
        Assert.Equal(_commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        Assert.Equal(["1_Pooling/config.json", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal));
        // Snapshot entries are relative symlinks to blobs named by the hub's ETag: sha256 for LFS files, the git blob id otherwise.
        var weights = new FileInfo(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", FakeHubServer.Sha256(_weights)), weights.LinkTarget);
        Assert.Equal(_weights, File.ReadAllBytes(weights.FullName));
        var config = File.ReadAllBytes(Path.Combine(dir, "config.json"));
        Assert.True(File.Exists(Path.Combine(RepoDir, "blobs", GitHashObject(config))));
        Assert.Equal(Path.Combine("..", "..", "..", "blobs", FakeHubServer.GitBlobId(Encoding.UTF8.GetBytes("{\"pooling_mode_mean_tokens\":true}"))),
            new FileInfo(Path.Combine(dir, "1_Pooling", "config.json")).LinkTarget);
        // No .bin or .pth beside safetensors, no README; the LFS file came through the CDN redirect.
        Assert.DoesNotContain(FileRequests, p => p.EndsWith(".bin") || p.EndsWith(".pth") || p.EndsWith("README.md"));
        Assert.Contains(_hub.Requests, r => r.Host == "localhost" && r.Path.StartsWith("/cdn/"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs"), "*.incomplete"));
    }

    /// <summary>The blob id the test server lists, checked against git itself.</summary>
    static string GitHashObject(byte[] content)
    {
        var id = FakeHubServer.GitBlobId(content);
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("git", "hash-object --stdin") { RedirectStandardInput = true, RedirectStandardOutput = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            p.StandardInput.BaseStream.Write(content);
            p.StandardInput.Close();
            Assert.Equal(p.StandardOutput.ReadToEnd().Trim(), id);
        }
        catch (System.ComponentModel.Win32Exception) { }   // no git on this machine: the formula alone
        return id;
    }

    [Fact]
    public void CachedRevisionIsUsedWithNoRequest()
    {
        var first = Download();
        _hub.ClearRequests();
        Assert.Equal(first, Download());
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void NewRevisionFetchesOnlyChangedFilesAndKeepsBoth()
    {
        Download();
        var v2 = _hub.AddCommit(RepoId, "v2", Files(_weights, "{\"architectures\":[\"LlamaForCausalLM\"],\"v\":2}"));
        _hub.ClearRequests();

        var dir = Download(revision: "v2");

        Assert.Equal(Path.Combine(RepoDir, "snapshots", v2), dir);
        Assert.Equal(v2, File.ReadAllText(Path.Combine(RepoDir, "refs", "v2")));
        Assert.Contains("\"v\":2", File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Contains("\"v\":1", File.ReadAllText(Path.Combine(RepoDir, "snapshots", _commit, "config.json")));
        // The weights' blob is shared: only config.json was fetched again.
        Assert.Equal([$"/{RepoId}/resolve/{v2}/config.json"], FileRequests.ToArray());
        Assert.Single(Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs"), FakeHubServer.Sha256(_weights)));
        // A commit hash names a revision too, and is found in the cache without a request.
        _hub.ClearRequests();
        Assert.Equal(dir, Download(revision: v2));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void CutConnectionIsResumedWithARangeRequest()
    {
        _hub.CutOnce["model.safetensors"] = 1;
        var dir = Download();

        Assert.Equal(_weights, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        var ranged = _hub.Requests.Where(r => r.Path.StartsWith("/cdn/") && r.Range != null).ToList();
        var range = Assert.Single(ranged).Range!;
        long from = long.Parse(range["bytes=".Length..^1]);
        Assert.InRange(from, 1, _weights.Length - 1);
    }

    [Fact]
    public void InterruptedDownloadResumesInTheNextRun()
    {
        _hub.CutOnce["model.safetensors"] = 1;
        var e = Assert.Throws<HubException>(() => Download(retries: 0));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("again to resume", e.Message);
        var partial = Path.Combine(RepoDir, "blobs", FakeHubServer.Sha256(_weights) + ".incomplete");
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, _weights.Length - 1);
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main")));
        _hub.ClearRequests();

        var dir = Download();

        Assert.Equal(_weights, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/cdn/") && r.Range == $"bytes={kept}-");
    }

    [Fact]
    public void PrivateModelWithoutTokenIs401NamingTheModelAndHfToken()
    {
        _hub.AddCommit("test-org/private-model", "main", Files(_weights, "{}"), isPrivate: true);
        using var d = new SnapshotDownloader(Options());
        var e = Assert.Throws<HubException>(() => d.Download("test-org/private-model"));
        Assert.Contains("'test-org/private-model'", e.Message);
        Assert.Contains("HTTP 401", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);

        _hub.ClearRequests();
        using var withToken = new SnapshotDownloader(Options(token: FakeHubServer.Token));
        var dir = withToken.Download("test-org/private-model");
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        // The token goes to the Hub's host, never to the CDN a redirect points to.
        Assert.All(_hub.Requests.Where(r => r.Host == "127.0.0.1" && r.Path.Contains("private-model")), r => Assert.Equal("Bearer " + FakeHubServer.Token, r.Authorization));
        Assert.All(_hub.Requests.Where(r => r.Host == "localhost"), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void MissingModelAndRevisionAre404NamingWhatToCheck()
    {
        using var d = new SnapshotDownloader(Options(token: FakeHubServer.Token));
        var e = Assert.Throws<HubException>(() => d.Download("test-org/no-such-model"));
        Assert.Contains("'test-org/no-such-model' was not found", e.Message);
        Assert.Contains("HTTP 404", e.Message);
        Assert.Contains("check the name", e.Message);

        var r = Assert.Throws<HubException>(() => d.Download(RepoId, "v9"));
        Assert.Contains("revision 'v9' of model 'test-org/tiny-model' was not found", r.Message);
        Assert.Contains("--revision", r.Message);
    }

    [Fact]
    public void CorruptedFileIsDetectedByItsChecksumAndRemoved()
    {
        _hub.Corrupt["model.safetensors"] = true;
        var e = Assert.Throws<HubChecksumException>(() => Download());
        Assert.Contains("model.safetensors is corrupted", e.Message);
        Assert.Contains(FakeHubServer.Sha256(_weights), e.Message);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs"), FakeHubServer.Sha256(_weights) + "*"));
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main")));

        // A git-stored file is checked by its blob id.
        _hub.Corrupt.Clear();
        _hub.Corrupt["tokenizer.json"] = true;
        var g = Assert.Throws<HubChecksumException>(() => Download(Options() with { CacheDir = Path.Combine(_cache, "second") }));
        Assert.Contains("tokenizer.json is corrupted: its git blob id", g.Message);

        _hub.Corrupt.Clear();
        Assert.Equal(_weights, File.ReadAllBytes(Path.Combine(Download(), "model.safetensors")));
    }

    [Fact]
    public void OfflineModeUsesTheCacheAndNeverAsks()
    {
        var e = Assert.Throws<HubException>(() => Download(Options(offline: true)));
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains("'test-org/tiny-model'", e.Message);
        Assert.Empty(_hub.Requests);

        var dir = Download();
        _hub.ClearRequests();
        using var offline = new SnapshotDownloader(Options(offline: true));
        Assert.Equal(dir, offline.Download(RepoId, refresh: true));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void UnreachableHubSaysSoAndPointsToOfflineMode()
    {
        var options = Options() with { Endpoint = "http://127.0.0.1:9" };
        using var d = new SnapshotDownloader(options);
        var e = Assert.Throws<HubException>(() => d.Download(RepoId));
        Assert.Contains("could not reach", e.Message);
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
    }

    public void Dispose()
    {
        _hub.Dispose();
        try { Directory.Delete(_cache, recursive: true); } catch (IOException) { }
    }
}
