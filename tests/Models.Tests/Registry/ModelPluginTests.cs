using System.Runtime.Loader;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using Pipeline.Models.Runner;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Registry;

/// <summary>
/// Out-of-tree models (issue 24, point 5): samples/Pipeline.ModelPlugin built and loaded by path, its
/// MyModelForCausalLM run on a transformers fixture whose config.json is renamed to it; and the load errors.
/// </summary>
public class ModelPluginTests(SamplePluginBuild plugin) : IClassFixture<SamplePluginBuild>
{
    const string Variant = "llama-bias-linearrope";

    static string FixtureAs(string variant, string architecture)
    {
        var dir = Directory.CreateTempSubdirectory("plugin-model").FullName;
        foreach (var f in Directory.GetFiles(ModelFixture.Dir(variant)))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"LlamaForCausalLM\"", $"\"{architecture}\""));
        return dir;
    }

    [Fact]
    public void TheSamplePluginRunsAFixtureLikeTransformers()
    {
        Assert.Equal(["MyModelForCausalLM"], ModelPlugins.LoadAssembly(plugin.Dll));
        Assert.Equal(["MyModelForCausalLM"], ModelPlugins.Load([plugin.Dll]));   // loading again changes nothing
        Assert.Equal(plugin.Dll, ModelPlugins.SourceOf("MyModelForCausalLM"));
        Assert.Contains(ModelRegistry.Plugins, e => e.Architecture == "MyModelForCausalLM");
        Assert.DoesNotContain(ModelRegistry.BuiltIn, e => e.Architecture == "MyModelForCausalLM");

        var dir = FixtureAs(Variant, "MyModelForCausalLM");
        var expected = ModelFixture.Expected(Variant);
        var (model, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            // The plugin's class, in its own load context, deriving from the host's DecoderForCausalLM.
            Assert.Equal("MyModelForCausalLM", model.GetType().Name);
            Assert.NotSame(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(model.GetType().Assembly));
            Assert.IsAssignableFrom<DecoderForCausalLM>(model);
            var gen = new BatchGenerator(model, maxModelLen: 128);
            var results = gen.Generate(expected.Select(p => (IReadOnlyList<int>)p.PromptTokenIds).ToList(),
                new() { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 }, []);
            for (int i = 0; i < expected.Count; i++)
                FixtureComparisonTests.Check(expected[i], results[i], $"MyModelForCausalLM on {Variant} prompt {i}");
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.LoadAssembly("/no/such/folder/Plugin.dll"));
        Assert.Contains("'/no/such/folder/Plugin.dll' was not found", e.Message);
    }

    [Fact]
    public void AFileThatIsNotAnAssemblyIsNamed()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("plugin").FullName, "NotAnAssembly.dll");
        File.WriteAllText(path, "not a PE file");
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.LoadAssembly(path));
        Assert.Equal($"model plugin '{path}' is not a .NET assembly", e.Message);
    }

    [Fact]
    public void AnAssemblyWithoutPluginsHasNoRegistrations()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "xunit.assert.dll");
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.LoadAssembly(path));
        Assert.Contains("has no registrations: no public class implements Pipeline.Models.Registry.IModelPlugin", e.Message);
    }

    [Fact]
    public void AFolderWithoutPluginsIsAnError()
    {
        var dir = Directory.CreateTempSubdirectory("plugins").FullName;
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.Load([dir]));
        Assert.Contains("has no plugin", e.Message);
        Assert.Throws<ModelPluginException>(() => ModelPlugins.LoadFolder(Path.Combine(dir, "missing")));
    }

    sealed class NamedPlugin(params string[] names) : IModelPlugin
    {
        public void Register(ModelRegistryBuilder registry)
        {
            foreach (var n in names) registry.AddCausalLM(n, (c, w, t, d) => new LlamaForCausalLM(c, w, t, d));
        }
    }

    [Theory]
    [InlineData("LlamaForCausalLM", "the built-in architecture LlamaForCausalLM")]
    [InlineData("MPTForCausalLM", "the built-in architecture MptForCausalLM (under vLLM's name MPTForCausalLM)")]
    [InlineData("BertModel", "a built-in pooling architecture")]
    public void AClashWithABuiltInNamesIt(string name, string says)
    {
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.Register(new NamedPlugin("PluginTestsFreeName", name), "clash-test"));
        Assert.Contains($"registers {name}, which is {says}", e.Message);
        Assert.Null(ModelPlugins.SourceOf("PluginTestsFreeName"));   // nothing of a refused plugin is registered
    }

    [Fact]
    public void AClashBetweenPluginsNamesTheFirst()
    {
        ModelPlugins.Register(new NamedPlugin("PluginTestsFirstForCausalLM"), "first.dll");
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.Register(new NamedPlugin("PluginTestsFirstForCausalLM"), "second.dll"));
        Assert.Equal("model plugin second.dll registers PluginTestsFirstForCausalLM, which model plugin first.dll already registered", e.Message);
    }

    [Fact]
    public void APluginThatRegistersNothingIsAnError()
    {
        var e = Assert.Throws<ModelPluginException>(() => ModelPlugins.Register(new NamedPlugin(), "empty.dll"));
        Assert.Equal("model plugin empty.dll registers no architecture", e.Message);
    }
}
