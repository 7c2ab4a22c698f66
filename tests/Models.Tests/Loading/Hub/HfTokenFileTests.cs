using System.Text;
using Pipeline.Models.Loading.Hub;

namespace Pipeline.Models.Tests.Loading.Hub;

/// <summary>
/// A user logged in with `huggingface-cli login` has the token only in a file (HF_TOKEN_PATH, else HF_HOME/token);
/// huggingface_hub reads HF_TOKEN first, then that file. The environment is given as a dictionary, not set on the
/// process, so tests running beside these see none of it.
/// </summary>
public sealed class HfTokenFileTests : IDisposable
{
    const string Gated = "test-org/gated-model";
    readonly FakeHubServer _hub = new();
    readonly string _dir = Directory.CreateTempSubdirectory("hftoken").FullName;

    public HfTokenFileTests()
    {
        _hub.AddCommit(Gated, "main", new()
        {
            ["config.json"] = Encoding.UTF8.GetBytes("{\"architectures\":[\"LlamaForCausalLM\"]}"),
            ["model.safetensors"] = new byte[4096],
        }, isPrivate: true);
    }

    HubOptions Options(Dictionary<string, string?> env, string? flag = null)
    {
        var o = HubOptions.FromEnvironment(flag, Path.Combine(_dir, "cache"), name => env.GetValueOrDefault(name));
        return o with { Endpoint = _hub.Endpoint, MaxWorkers = 2, Timeout = TimeSpan.FromSeconds(20) };
    }

    string WriteTokenFile(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    string Download(HubOptions o)
    {
        using var d = new SnapshotDownloader(o);
        return d.Download(Gated);
    }

    [Fact]
    public void GatedModelDownloadsWithOnlyTheHfTokenPathFile()
    {
        var path = WriteTokenFile("secrets/hf", FakeHubServer.Token + "\n");   // as `huggingface-cli login` writes it
        var o = Options(new() { ["HF_TOKEN_PATH"] = path, ["HF_HOME"] = Path.Combine(_dir, "empty-home") });
        Assert.Equal(FakeHubServer.Token, o.Token);
        Assert.Equal(path, o.TokenSource);

        var dir = Download(o);
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.Contains(_hub.Requests, r => r.Path.Contains("gated-model") && r.Authorization == "Bearer " + FakeHubServer.Token);
    }

    [Fact]
    public void GatedModelDownloadsWithOnlyHfHomeToken()
    {
        var path = WriteTokenFile("home/token", FakeHubServer.Token);
        var o = Options(new() { ["HF_HOME"] = Path.Combine(_dir, "home") });
        Assert.Equal(path, o.TokenSource);
        Assert.True(File.Exists(Path.Combine(Download(o), "model.safetensors")));
    }

    [Fact]
    public void WithoutTokenOrFileItIs401NamingTheLogin()
    {
        var o = Options(new() { ["HF_HOME"] = Path.Combine(_dir, "nobody") });
        Assert.Null(o.Token);
        var e = Assert.Throws<HubException>(() => Download(o));
        Assert.Contains("HTTP 401", e.Message);
        Assert.Contains("huggingface-cli login", e.Message);
    }

    [Fact]
    public void HfTokenComesBeforeTheFileAndTheFlagBeforeBoth()
    {
        var path = WriteTokenFile("home/token", "hf_from_file");
        var env = new Dictionary<string, string?> { ["HF_HOME"] = Path.Combine(_dir, "home"), ["HF_TOKEN"] = FakeHubServer.Token };
        var o = Options(env);
        Assert.Equal((FakeHubServer.Token, "HF_TOKEN"), (o.Token, o.TokenSource));
        Assert.Equal(("hf_flag", "--hf-token"), (Options(env, "hf_flag").Token, Options(env, "hf_flag").TokenSource));

        // A wrong token from the file is named in the 401 so the user knows which one to fix.
        var wrong = Options(new() { ["HF_HOME"] = Path.Combine(_dir, "home") });
        Assert.Equal("hf_from_file", wrong.Token);
        var e = Assert.Throws<HubException>(() => Download(wrong));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain("hf_from_file", e.Message);
    }

    [Fact]
    public void DisableImplicitTokenSendsOnlyTheFlag()
    {
        WriteTokenFile("home/token", FakeHubServer.Token);
        var env = new Dictionary<string, string?> { ["HF_HOME"] = Path.Combine(_dir, "home"), ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1", ["HF_TOKEN"] = "hf_env" };
        Assert.Null(Options(env).Token);
        Assert.Equal("hf_flag", Options(env, "hf_flag").Token);
    }

    [Fact]
    public void DefaultFileIsUnderXdgCacheHomeThenHome()
    {
        Assert.Equal(Path.Combine("/x/cache", "huggingface", "token"), HfToken.TokenPath(n => n == "XDG_CACHE_HOME" ? "/x/cache" : null));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "token"), HfToken.TokenPath(_ => null));
        Assert.Equal(Path.Combine(home, "tok"), HfToken.TokenPath(n => n == "HF_TOKEN_PATH" ? "~/tok" : null));
    }

    public void Dispose()
    {
        _hub.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
