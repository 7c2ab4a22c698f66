using System.Text;
using Pipeline.Models.Loading.Hub;

namespace Pipeline.Models.Tests.Loading.Hub;

/// <summary>Downloads through ModelScope's routes and into its cache layout, served by a real HTTP server on loopback.</summary>
public sealed class ModelScopeDownloadTests : IDisposable
{
    const string RepoId = "test-org/Tiny-Model.v1";
    readonly FakeHubServer _hub = new();
    readonly string _cache = Directory.CreateTempSubdirectory("mscache").FullName;
    readonly byte[] _weights = new byte[200_000];

    public ModelScopeDownloadTests()
    {
        new Random(7).NextBytes(_weights);
        _hub.AddCommit(RepoId, "master", Files(1));
    }

    Dictionary<string, byte[]> Files(int v) => new()
    {
        ["config.json"] = Encoding.UTF8.GetBytes($"{{\"v\":{v}}}"),
        ["model.safetensors"] = _weights,
        ["pytorch_model.bin"] = new byte[100],
        ["configuration.json"] = Encoding.UTF8.GetBytes("{\"framework\":\"pytorch\"}"),
    };

    SnapshotDownloader Downloader(bool offline = false) =>
        new(new HubOptions { UseModelScope = true, Endpoint = _hub.Endpoint, CacheDir = _cache, Offline = offline, Timeout = TimeSpan.FromSeconds(20) });

    string ModelDir => Path.Combine(_cache, "models", "test-org", "Tiny-Model___v1");

    [Fact]
    public void DownloadsIntoModelScopesLayoutAndHitsTheCacheWithNoRequest()
    {
        using var d = Downloader();
        Assert.Equal("master", d.DefaultRevision);
        var dir = d.Download(RepoId);

        Assert.Equal(ModelDir, dir);
        Assert.Equal(_weights, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(dir, "pytorch_model.bin")));
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/api/v1/models/test-org/Tiny-Model.v1/repo/files?Revision=master&Recursive=True"));
        Assert.Contains(_hub.Requests, r => r.Path.Contains("/repo?Revision=master&FilePath=model.safetensors"));

        _hub.ClearRequests();
        using var again = Downloader();
        Assert.Equal(dir, again.Download(RepoId));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void NewRevisionResumeAndChecksum()
    {
        using (var d = Downloader()) d.Download(RepoId);
        _hub.AddCommit(RepoId, "v2", Files(2));
        _hub.ClearRequests();
        using (var d = Downloader()) d.Download(RepoId, "v2");
        Assert.Contains("\"v\":2", File.ReadAllText(Path.Combine(ModelDir, "config.json")));
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains("FilePath=model.safetensors"));   // same sha256: kept

        var other = "test-org/other";
        _hub.AddCommit(other, "master", Files(3));
        _hub.CutOnce["model.safetensors"] = 1;
        using (var d = Downloader()) Assert.Equal(_weights, File.ReadAllBytes(Path.Combine(d.Download(other), "model.safetensors")));
        Assert.Contains(_hub.Requests, r => r.Path.Contains("other/repo?") && r.Range is { } range && range != "bytes=0-");

        _hub.AddCommit("test-org/bad", "master", Files(4));
        _hub.Corrupt["model.safetensors"] = true;
        using (var d = Downloader())
        {
            var e = Assert.Throws<HubChecksumException>(() => d.Download("test-org/bad"));
            Assert.Contains("sha256", e.Message);
        }
    }

    [Fact]
    public void MissingModelAndOfflineModeSayWhatToDo()
    {
        using var d = Downloader();
        var e = Assert.Throws<HubException>(() => d.Download("test-org/nothing"));
        Assert.Contains("'test-org/nothing'", e.Message);
        Assert.Contains("ModelScope", e.Message);
        Assert.Contains("HTTP 404", e.Message);

        _hub.ClearRequests();
        using var offline = Downloader(offline: true);
        var o = Assert.Throws<HubException>(() => offline.Download(RepoId));
        Assert.Contains("HF_HUB_OFFLINE", o.Message);
        Assert.Empty(_hub.Requests);
    }

    public void Dispose()
    {
        _hub.Dispose();
        try { Directory.Delete(_cache, recursive: true); } catch (IOException) { }
    }
}
