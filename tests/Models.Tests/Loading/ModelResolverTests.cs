using Pipeline.Models.Loading;

namespace Pipeline.Models.Tests.Loading;

[Collection("environment")]
public class ModelResolverTests
{
    [Fact]
    public void LocalDirectoryResolvesToItself()
    {
        var dir = Directory.CreateTempSubdirectory("m").FullName;
        Assert.Equal(dir, ModelResolver.Resolve(dir));
    }

    [Fact]
    public void HubCacheLayoutWithRefsAndRevision()
    {
        var hub = Directory.CreateTempSubdirectory("hub").FullName;
        var repo = Path.Combine(hub, "models--my-org--tiny-model");
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "abc123"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "def456"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "abc123\n");
        var old = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", hub);
        try
        {
            Assert.Equal(Path.Combine(repo, "snapshots", "abc123"), ModelResolver.Resolve("my-org/tiny-model"));
            Assert.Equal(Path.Combine(repo, "snapshots", "def456"), ModelResolver.Resolve("my-org/tiny-model", "def456"));
            var e = Assert.Throws<ModelNotFoundException>(() => ModelResolver.Resolve("my-org/tiny-model", "v9"));
            Assert.Contains("revision 'v9'", e.Message);
        }
        finally { Environment.SetEnvironmentVariable("HF_HUB_CACHE", old); }
    }

    [Fact]
    public void NotFoundNamesEveryPlaceLooked()
    {
        var hub = Directory.CreateTempSubdirectory("hub").FullName;
        var home = Directory.CreateTempSubdirectory("hfhome").FullName;
        var oldCache = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        var oldHome = Environment.GetEnvironmentVariable("HF_HOME");
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", hub);
        Environment.SetEnvironmentVariable("HF_HOME", home);
        try
        {
            var e = Assert.Throws<ModelNotFoundException>(() => ModelResolver.Resolve("nobody/nothing"));
            Assert.Contains(Path.GetFullPath("nobody/nothing"), e.Message);
            Assert.Contains(Path.Combine(hub, "models--nobody--nothing", "snapshots", "main"), e.Message);
            Assert.Contains(Path.Combine(home, "hub", "models--nobody--nothing", "snapshots", "main"), e.Message);
            Assert.Equal(3, e.Looked.Count);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", oldCache);
            Environment.SetEnvironmentVariable("HF_HOME", oldHome);
        }
    }
}
